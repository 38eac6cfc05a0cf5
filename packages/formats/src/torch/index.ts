// PyTorch checkpoints: torch.save zip files (HF shards, PEFT adapter_model.bin) and Meta's
// consolidated.*.pth, read lazily through a restricted unpickler, and written back in
// torch's own layout.

export type {
  TorchDType, TorchTensorInfo, TorchCheckpoint, OpenTorchOptions, TorchTensorInput, WriteTorchOptions,
} from "./types.js";
export { dtypeOfStorageClass, storageClassOfDType, torchElementBytes, torchDTypeName } from "./dtype.js";
export { openTorchCheckpoint, readShardIndex } from "./checkpoint.js";
export { writeTorchCheckpoint, writeTorchFiles, torchArchiveName, type TorchFilePlan } from "./writer.js";
export { ZipReader, isSafeEntryName, type ZipEntry } from "./zip.js";
export { ZipWriter, type ZipSink } from "./zip-writer.js";
export { crc32 } from "./crc32.js";
export { unpickle, defaultUnpickleLimits, type UnpickleLimits } from "./pickle.js";
export { pickleStateDict, type PickledTensor } from "./pickle-writer.js";
export { PyDict, PyGlobal, PyList, PyTuple, TorchStorageRef, TorchTensorRef, type PyValue } from "./pickle-values.js";
export { contiguousStrides, isContiguous, gatherStrided } from "./strided.js";
