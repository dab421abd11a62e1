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
