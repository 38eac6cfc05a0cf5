import { expect } from "chai";
import fc from "fast-check";
import { isSendKey } from "../src/page/keys.js";
import { defaultSettings, samplingFields, sanitizeSettings, sliders, snap } from "../src/page/settings.js";
import { exportJson, parseState, titleFrom } from "../src/page/store.js";

describe("webchat settings, keys and stored state", () => {
  it("defaults are the seed's Gradio demo values and map onto the request fields", () => {
    expect(samplingFields(defaultSettings())).to.deep.equal({ max_tokens: 512, temperature: 0.5, top_p: 0.9, top_k: 40, repetition_penalty: 1.1 });
    expect(samplingFields({ ...defaultSettings(), doSample: false })).to.include({ temperature: 0 });
  });

  it("property: snap lands on the slider's grid inside its range", () => {
    for (const spec of sliders) {
      fc.assert(fc.property(fc.double({ min: -10, max: 10000, noNaN: true }), (v) => {
        const s = snap(spec, v);
        expect(s).to.be.within(spec.min, spec.max);
        const steps = (s - spec.min) / spec.step;
        expect(Math.abs(steps - Math.round(steps))).to.be.lessThan(1e-9);
        expect(String(s).length).to.be.lessThan(8); // no 1.2000000000000002
      }));
    }
    expect(snap(sliders[4], 1.25)).to.equal(1.3);
  });

  it("stored settings are clamped and typed; junk falls back to defaults", () => {
    expect(sanitizeSettings({ topK: 99, temperature: "hot", doSample: false, systemPrompt: 5 }))
      .to.deep.equal({ ...defaultSettings(), topK: 40, doSample: false });
    expect(sanitizeSettings(null)).to.deep.equal(defaultSettings());
  });

  it("Enter sends; Shift+Enter and Enter while composing (isComposing or keyCode 229) do not", () => {
    const key = { key: "Enter", shiftKey: false, isComposing: false, keyCode: 13 };
    expect(isSendKey(key, false)).to.equal(true);
    expect(isSendKey({ ...key, shiftKey: true }, false)).to.equal(false);
    expect(isSendKey({ ...key, isComposing: true }, false)).to.equal(false);
    expect(isSendKey({ ...key, keyCode: 229 }, false)).to.equal(false);
    expect(isSendKey(key, true)).to.equal(false);
    expect(isSendKey({ ...key, key: "a" }, false)).to.equal(false);
  });

  it("stored state survives a round trip and corrupt storage starts fresh", () => {
    const s = parseState(null);
    s.conversations[0].messages.push({ role: "user", content: "你好" }, { role: "assistant", content: "hi", tokens: 2, tokensPerSecond: 3.5 });
    const back = parseState(JSON.stringify(s));
    expect(back).to.deep.equal(s);
    for (const bad of ["{", "[]", '{"version":2}', '{"version":1,"conversations":[{"id":1}]}']) {
      const fresh = parseState(bad);
      expect(fresh.conversations).to.have.length(1);
      expect(fresh.conversations[0].messages).to.deep.equal([]);
    }
    const dropped = parseState(JSON.stringify({ ...s, conversations: [{ ...s.conversations[0], messages: [{ role: "tool", content: "x" }, { role: "user", content: 3 }] }] }));
    expect(dropped.conversations[0].messages).to.deep.equal([]);
    const exported = JSON.parse(exportJson(s, new Date("2026-01-02T03:04:05Z"))) as { format: string; exportedAt: string; conversations: unknown[] };
    expect(exported.format).to.equal("llamats-webchat");
    expect(exported.exportedAt).to.equal("2026-01-02T03:04:05.000Z");
    expect(exported.conversations).to.deep.equal(s.conversations);
    expect(titleFrom("  为什么要减少污染？\n第二行")).to.equal("为什么要减少污染？");
  });
});
