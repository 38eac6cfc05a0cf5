// The reference SHA256 table that Chinese-LLaMA-Alpaca publishes (SHA256.md in
// ymcui/Chinese-LLaMA-Alpaca, version at commit ee21f26), keyed by file name. `--verify`
// hashes the merge inputs and looks their names up here. Merged-file hashes depend on the
// torch zip/pickle metadata (PyTorch >= 1.13), so they are listed for reference only: llamats
// writes the same tensors, not the same zip bytes.

export interface ShaEntry {
  readonly file: string;
  readonly model: string;
  readonly sha256: string;
}

const e = (file: string, model: string, sha256: string): ShaEntry => ({ file, model, sha256 });

function shards(prefix: string, model: string, hashes: string[], pth = false): ShaEntry[] {
  return hashes.map((h, i) =>
    e(pth ? `consolidated.${String(i).padStart(2, "0")}.pth` : `${prefix}-${String(i + 1).padStart(5, "0")}-of-${String(hashes.length).padStart(5, "0")}.bin`, model, h),
  );
}

export const SEED_SHA256: readonly ShaEntry[] = [
  // Original LLaMA (Meta), consolidated.*.pth
  ...shards("", "LLaMA-7B (Meta)", ["700df0d3013b703a806d2ae7f1bfb8e59814e3d06ae78be0c66368a50059f33d"], true),
  ...shards("", "LLaMA-13B (Meta)", [
    "745bf4e29a4dd6f411e72976d92b452da1b49168a4f41c951cfcc8051823cf08",
    "d5ccbcc465c71c0de439a5aeffebe8344c68a519bce70bc7f9f92654ee567085",
  ], true),
  ...shards("", "LLaMA-33B (Meta)", [
    "e23294a58552d8cdec5b7e8abb87993b97ea6eced4178ff2697c02472539d067",
    "4e077b7136c7ae2302e954860cf64930458d3076fcde9443f4d0e939e95903ff",
    "24a87f01028cbd3a12de551dcedb712346c0b5cbdeff1454e0ddf2df9b675378",
    "1adfcef71420886119544949767f6a56cb6339b4d5fcde755d80fe68b49de93b",
  ], true),
  // Original LLaMA converted to HF (pytorch_model-*.bin)
  ...shards("pytorch_model", "LLaMA-7B (HF)", [
    "0087155d6df07106c1d910bfeb6aab1be8e612dfbf2b56ddfb4ccbde7dbd50d0",
    "461bc5e50200db7813ff99cc0b9316c48ccbd6aaaa31bf8cf7bee0b64bc3eda3",
  ]),
  ...shards("pytorch_model", "LLaMA-13B (HF)", [
    "dd20cdee2637408c6ab88c13f5c27d153bacd0e99f2d55f6a66fbd0269944436",
    "1aba886c5f28d2e2e9b04ab3c4f5bc250c6b06efc1baa3f557677b3097f70e6a",
    "2efc56cddb7877c830bc5b402ee72996aedb5694c9e8007bf1d52d72c0d97d26",
  ]),
  ...shards("pytorch_model", "LLaMA-33B (HF)", [
    "9c2a7223ab5f9cf3d46913d2b776e99cbd6ed93f69991594b92a8cef0c681a78",
    "4984274738e52195f4b1a5b35d719cf0fade6df1f645507d92d61af4dd8dcdfe",
    "64c73932562810c5c33b15bfec5921d3ced0e8cdb3766c214eda2f45fa3edd13",
    "c7d72d11770f5b58eb45c2dd8e19aae2cbd5a03463b564de3945b21825ebacba",
    "174128542031f4ad7ceb6c799e8e5461ec1ca91a72a01402c567e5f6a8b33d8c",
    "80e2cfa18994385fa88f03d500017346dfd6dc1e58e957d046af39d9a7e254fa",
    "065611608159615ced8d38473ee693129a1a0d872ced0ad8daf09290af7c7061",
  ]),
  // tokenizer.model: one per model type, whatever the size or version (Meta's LLaMA one is the
  // base every Chinese tokenizer extends; the seed's table lists it with the original weights)
  e("tokenizer.model", "LLaMA tokenizer (Meta, original)", "9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347"),
  e("tokenizer.model", "Chinese-LLaMA tokenizer (7B/13B/33B, Plus)", "e2676d4ca29ca1750f6ff203328d73b189321dc5776ceede037cbd36541d70c0"),
  e("tokenizer.model", "Chinese-Alpaca tokenizer (7B/13B/33B, Plus, Pro)", "2d967e855b1213a439df6c8ce2791f869c84b4f3b6cfacf22b86440b8192a2f8"),
  // adapter_model.bin of each LoRA
  e("adapter_model.bin", "Chinese-LLaMA-7B", "2a2c24d096f5d509f24946fdbd8c25e1ce4a0acb955902f7436d74c0c0379d86"),
  e("adapter_model.bin", "Chinese-LLaMA-Plus-7B", "8c928db86b2a0cf73f019832f921eb7e1e069ca21441b4bfa12c4381c6cc46be"),
  e("adapter_model.bin", "Chinese-LLaMA-13B", "6a4ce789d219bde122f8d9a20371937f2aa2ee86a2311d9f5e303df2e774f9fc"),
  e("adapter_model.bin", "Chinese-LLaMA-Plus-13B", "784fcff9c4bdf4e77d442a01158e121caf8fcce0f97ffb32396fe7a3617ee7e8"),
  e("adapter_model.bin", "Chinese-LLaMA-33B", "93a449bafb71ff1bb74a4a21e64e102e5078e5c3898eb40d013790072a0fa3de"),
  e("adapter_model.bin", "Chinese-LLaMA-Plus-33B", "16f2544f4b5be9840dbb1a8071a9bc42627ed4232be3b0b600b43f7b4b5f08a7"),
  e("adapter_model.bin", "Chinese-Alpaca-7B", "0d9b6ed8e4a7d1ae590a16c89a452a488d66ff07e45487972f61c2b6e46e36de"),
  e("adapter_model.bin", "Chinese-Alpaca-Plus-7B", "4ee0bf805c312a9a771624d481fbdb4485e1b0a70cd2a8da9f96137f177b795d"),
  e("adapter_model.bin", "Chinese-Alpaca-Pro-7B", "3cd2776908c3f5efe68bf6cf0248cb0e80fb7c55a52b8406325c9f0ca37b8594"),
  e("adapter_model.bin", "Chinese-Alpaca-13B", "cb8dda3c005f3343a0740dcd7237fbb600cb14b6bff9b6f3d488c086a2f08ada"),
  e("adapter_model.bin", "Chinese-Alpaca-Plus-13B", "a1fcdcb6d7e1068f925fb36ec78632c76058ba12ba352bed4d44060b8e6f4706"),
  e("adapter_model.bin", "Chinese-Alpaca-Pro-13B", "f076b20fc2390ddbc35fd56d580d46ea834b33bbae34a4bb3cb7b571e60602e0"),
  e("adapter_model.bin", "Chinese-Alpaca-33B", "6b39da4c682e715a9de30b247b7e9b812d2d54f7d320ec9b452000a5cd4d178d"),
  e("adapter_model.bin", "Chinese-Alpaca-Plus-33B", "411f5b9351abcc33c13a82bdd97ddcff81ad7993a8ddb83085b7ea97fad92fc7"),
  e("adapter_model.bin", "Chinese-Alpaca-Pro-33B", "0e7ba4951f605d2c0a7f0bcb983d7f6ed075c8dd23fbbcbc8a8c9643247212a3"),
];

/**
 * Merged consolidated.*.pth as the seed's script writes them with PyTorch >= 1.13 (reference
 * only: a file written by llamats holds the same tensors in a different zip, so its hash differs).
 */
export const SEED_MERGED_SHA256: readonly ShaEntry[] = [
  ...shards("", "Chinese-LLaMA-7B merged", ["245427a306e3253db3f534e2a1d7548a8eb781ae8761f9e98979b4aced6b43d8"], true),
  ...shards("", "Chinese-LLaMA-Plus-7B merged", ["f8d380d63f77a08b7f447f5ec63f0bb1cde9ddeae2207e9f86e6b5f0f95a7955"], true),
  ...shards("", "Chinese-LLaMA-13B merged", [
    "aa7f4599487ea2b0d0aca2b522c39370897f9afd9839aac7d02155957f1f019f",
    "3954f3e7f7264994f23800a04423e6563cc1959ac699d9eaaa6801b4f9392ebd",
  ], true),
  ...shards("", "Chinese-LLaMA-Plus-13B merged", [
    "4de7d188003c778f216342de2dc5c9a9c74278c701c63a7b6bcd7957f5ebfdf5",
    "ff8046f9eb8b05dd86597c21edd07894aec00b31842a4c11996a4003091ea7c9",
  ], true),
  ...shards("", "Chinese-Alpaca-7B merged", ["fbfccc91183169842aac8d093379f0a449b5a26c5ee7a298baf0d556f1499b90"], true),
  ...shards("", "Chinese-Alpaca-Plus-7B merged", ["8b8f6551d0d83f93e378622b9f8dad0bec189da6c29d8a78de493e6aee9bd35f"], true),
  ...shards("", "Chinese-Alpaca-13B merged", [
    "30cefb5be9091c3e17fbba5d91bf16266a2ddf86cde53370a9982b232ff8a2f4",
    "ce946742b0f122f472e192c3f77d506e0c26578b4b881d07d919553333affecd",
  ], true),
  ...shards("", "Chinese-Alpaca-Plus-13B merged", [
    "1834558214c1dddc0d8b2826ece086908b9d2293241d0e12cecb48a035ec561b",
    "bf70001600ce166f6ca4ef59df5510f0582cdc119fb74e27d9cf3e4c7b142015",
  ], true),
];
