// JSON schemas of the request bodies, validated by fastify (ajv, no type coercion): wrong
// types and out-of-range values are 400s before a handler runs. Unknown fields are allowed
// and ignored (clients such as LangChain send extras). Nullable fields accept null as
// "not given", as OpenAI's API does.

const num = (min: number, max: number) => ({ type: ["number", "null"], minimum: min, maximum: max });
const int = (min: number, max?: number) => ({ type: ["integer", "null"], minimum: min, ...(max !== undefined ? { maximum: max } : {}) });
const tokenIds = { type: "array", minItems: 1, items: { type: "integer", minimum: 0 } };

/** Sampling and generation fields shared by completions and chat. */
const generationFields = {
  model: { type: "string" },
  max_tokens: int(0),
  temperature: num(0, 2),
  top_p: num(0, 1),
  top_k: int(0),
  repetition_penalty: { type: ["number", "null"], exclusiveMinimum: 0, maximum: 10 },
  frequency_penalty: num(-2, 2),
  presence_penalty: num(-2, 2),
  n: int(1, 4),
  stop: {
    anyOf: [
      { type: "string" },
      { type: "array", maxItems: 4, items: { type: "string" } },
      { type: "null" },
    ],
  },
  seed: { type: ["integer", "null"] },
  stream: { type: ["boolean", "null"] },
  stream_options: { type: ["object", "null"], properties: { include_usage: { type: "boolean" } } },
  logit_bias: { type: ["object", "null"], additionalProperties: { type: "number", minimum: -100, maximum: 100 } },
  user: { type: "string" },
  return_token_ids: { type: ["boolean", "null"] }, // extension: choices carry token_ids
} as const;

export const completionSchema = {
  type: "object",
  required: ["prompt"],
  properties: {
    ...generationFields,
    prompt: {
      anyOf: [
        { type: "string" },
        { type: "array", minItems: 1, items: { type: "string" } },
        tokenIds,
        { type: "array", minItems: 1, items: tokenIds },
      ],
    },
    logprobs: int(0, 5),
    echo: { type: ["boolean", "null"] },
    suffix: { type: ["string", "null"] },
    best_of: int(1, 4),
  },
} as const;

const contentPart = {
  type: "object",
  required: ["type"],
  properties: { type: { type: "string" }, text: { type: "string" } },
};

export const chatSchema = {
  type: "object",
  required: ["messages"],
  properties: {
    ...generationFields,
    max_completion_tokens: int(0),
    messages: {
      anyOf: [
        { type: "string" }, // the seed: one user message
        {
          type: "array",
          minItems: 1,
          items: {
            type: "object",
            required: ["role"],
            properties: {
              role: { enum: ["system", "developer", "user", "assistant"] },
              content: { anyOf: [{ type: "string" }, { type: "null" }, { type: "array", items: contentPart }] },
              message: { type: "string" }, // the seed's name for content
              name: { type: "string" },
            },
          },
        },
      ],
    },
    logprobs: { type: ["boolean", "null"] },
    top_logprobs: int(0, 20),
    tools: { type: ["array", "null"] },
    response_format: { type: ["object", "null"], properties: { type: { type: "string" } } },
  },
} as const;

export const embeddingSchema = {
  type: "object",
  required: ["input"],
  properties: {
    model: { type: "string" },
    input: {
      anyOf: [
        { type: "string" },
        { type: "array", minItems: 1, maxItems: 2048, items: { type: "string" } },
        tokenIds,
        { type: "array", minItems: 1, maxItems: 2048, items: tokenIds },
      ],
    },
    encoding_format: { enum: ["float", "base64"] },
    dimensions: { type: "integer", minimum: 1 },
    user: { type: "string" },
  },
} as const;
