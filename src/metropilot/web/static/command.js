/* The command centre (GET / for operators, supervisors, commune agents, contractors).

   The page's configuration (#cc-config, a JSON data attribute) says who is looking, what the API
   lets them do, the communes and kinds to filter by, and the messages in the page's language.
   Everything else comes from the JSON API (session cookie; X-CSRF-Token from
   <meta name="csrf-token"> on changes) and from the live stream (/api/v1/stream, EventSource).

   This entry module only starts the page: the panels are ES modules under js/command/ (one per
   panel: map, in-view list, counts, asset panel, telemetry, alarms, reports, cases and work
   orders, fleet, KPIs, tabs, search, filters, live stream), sharing js/shared.js with the other
   pages. docs/command-centre.md lists them. */
import { start } from "./js/command/main.js";

start();
