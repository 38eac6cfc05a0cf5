// Types of node-shim.mjs (plain JavaScript so worker_threads can boot it without a loader).
export declare const WASM_BASE: string;
export declare function installWllamaShim(dir: string): void;
