// ModelSources over PyTorch checkpoints (read by ../torch/): HF pytorch_model*.bin folders
// (HF names, Q/K permuted on read) and Meta consolidated.*.pth folders (Meta names, already
// interleaved; model-parallel shards re-joined by the torch layer).

import { LlamatsError } from "@llamats/tensor";
import type { ModelSource, SourceFormat } from "./types.js";

export function openHfTorchFolder(dir: string): ModelSource {
  throw new LlamatsError(`${dir}: PyTorch .bin folders are not supported yet`);
}

export function openMetaFolder(dir: string): ModelSource {
  throw new LlamatsError(`${dir}: Meta .pth folders are not supported yet`);
}

export function openTorchFileSource(path: string, _format?: SourceFormat): ModelSource {
  throw new LlamatsError(`${path}: PyTorch checkpoints are not supported yet`);
}
