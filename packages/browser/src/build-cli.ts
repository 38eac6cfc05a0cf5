// `npm run build` in this package: tsc, then this bundles the library and page into dist/public.
import { buildBrowser } from "./build.js";

await buildBrowser();
