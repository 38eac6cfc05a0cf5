// Generation settings: the seed's Gradio sliders (CHINESE-LLAMA-ALPACA.md section 6) with their
// ranges and defaults, plus "do sample" and a system prompt, and how they map onto the
// request body (OpenAI fields plus the seed's extensions top_k and repetition_penalty).

export interface SliderSpec {
  key: "maxTokens" | "topP" | "temperature" | "topK" | "repetitionPenalty";
  label: string;
  min: number;
  max: number;
  step: number;
  defaultValue: number;
}

export const sliders: readonly SliderSpec[] = [
  { key: "maxTokens", label: "Max new tokens", min: 0, max: 4096, step: 1, defaultValue: 512 },
  { key: "topP", label: "Top-p", min: 0, max: 1, step: 0.01, defaultValue: 0.9 },
  { key: "temperature", label: "Temperature", min: 0, max: 1, step: 0.01, defaultValue: 0.5 },
  { key: "topK", label: "Top-k", min: 1, max: 40, step: 1, defaultValue: 40 },
  { key: "repetitionPenalty", label: "Repetition penalty", min: 1, max: 3, step: 0.1, defaultValue: 1.1 },
];

export interface Settings {
  maxTokens: number;
  topP: number;
  temperature: number;
  topK: number;
  repetitionPenalty: number;
  doSample: boolean;
  /** "" = the server's default system text (the seed's Alpaca sentence). */
  systemPrompt: string;
}

export function defaultSettings(): Settings {
  const s = { doSample: true, systemPrompt: "" } as Settings;
  for (const spec of sliders) s[spec.key] = spec.defaultValue;
  return s;
}

/** A slider value snapped to its step and clamped to its range (no 1.1000000000000001). */
export function snap(spec: SliderSpec, value: number): number {
  if (!Number.isFinite(value)) return spec.defaultValue;
  const clamped = Math.min(spec.max, Math.max(spec.min, value));
  const steps = Math.round((clamped - spec.min) / spec.step);
  const decimals = (String(spec.step).split(".")[1] ?? "").length;
  return Number((spec.min + steps * spec.step).toFixed(decimals));
}

/** Settings read back from storage: anything missing or malformed falls back to its default. */
export function sanitizeSettings(raw: unknown): Settings {
  const s = defaultSettings();
  if (!raw || typeof raw !== "object") return s;
  const r = raw as Record<string, unknown>;
  for (const spec of sliders) if (typeof r[spec.key] === "number") s[spec.key] = snap(spec, r[spec.key] as number);
  if (typeof r.doSample === "boolean") s.doSample = r.doSample;
  if (typeof r.systemPrompt === "string") s.systemPrompt = r.systemPrompt;
  return s;
}

/** The sampling fields of a chat-completions request. "Do sample" off = greedy = temperature 0. */
export function samplingFields(s: Settings): Record<string, number> {
  return {
    max_tokens: s.maxTokens,
    temperature: s.doSample ? s.temperature : 0,
    top_p: s.topP,
    top_k: s.topK,
    repetition_penalty: s.repetitionPenalty,
  };
}
