// `npm run build` in this package: tsc, then this bundles the page into dist/public.
import { buildWebchat } from "./build.js";

await buildWebchat();
