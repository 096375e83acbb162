// The viewer's entry: its styles and its pages (router.js does the rest).
import "uplot/dist/uPlot.min.css";
import "./style.css";
import * as comparePage from "./pages/compare.js";
import * as runPage from "./pages/run.js";
import * as runsPage from "./pages/runs.js";
import { start } from "./router.js";

const part = (s) => decodeURIComponent(s);

start([
  [/^\/(?:runs\/?)?$/, runsPage, () => ({})],
  [/^\/runs\/([^/]+)\/([^/]+)\/?$/, runPage, (m) => ({ project: part(m[1]), id: part(m[2]) })],
  [/^\/compare\/?$/, comparePage, () => ({})],
]);
