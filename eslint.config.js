// ESLint's flat configuration for the pages' JavaScript (npx eslint src/metropilot/web/static tests/js).
// The pages' files are ES modules run by the browser; the tests are ES modules run by node --test.
// Vendored libraries (static/vendor/) are pinned copies of other projects: never linted here.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["src/metropilot/web/static/vendor/**", "node_modules/**"] },
  js.configs.recommended,
  {
    files: ["src/metropilot/web/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      // Leaflet is loaded by a classic <script> before the modules and sets window.L.
      globals: { ...globals.browser, L: "readonly" },
    },
    // The sizes the code base keeps (docs/development.md): a module under ~500 lines, a function
    // under ~80, blank lines and comments not counted.
    rules: {
      "max-lines": ["error", { max: 500, skipBlankLines: true, skipComments: true }],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ["tests/js/**/*.mjs", "tests/js/**/*.js", "eslint.config.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.node },
    },
  },
];
