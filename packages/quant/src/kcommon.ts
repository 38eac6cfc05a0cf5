// Helpers shared by the K-quant reference quantisers (ggml-quants.c): the scale searches
// make_qx_quants (symmetric, rmse_type 1, no importance weights) and make_qkx2_quants
// (asymmetric with a min), and the 6-bit scale/min packing of Q4_K and Q5_K. Every float
// operation is rounded to float32 in the order C evaluates it.

import { fround, nearestInt, signedAbsMax } from "./f32.js";

const GROUP_MAX_EPS = fround(1e-15);
const TENTH = fround(0.1);

/** Symmetric scale search over n values at x[xOff..]: writes codes L[lOff..] in [0, 2*nmax)
 *  and returns the scale (make_qx_quants with rmse_type = 1, weights x²). */
export function makeQxQuants(n: number, nmax: number, x: Float32Array, xOff: number, L: Uint8Array, lOff: number): number {
  const max = signedAbsMax(x, xOff, n);
  const amax = Math.abs(max);
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    return 0;
  }
  let iscale = fround(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i];
    let l = nearestInt(fround(iscale * xi));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    L[lOff + i] = l + nmax;
    const w = fround(xi * xi);
    sumlx = fround(sumlx + fround(fround(w * xi) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  let scale = suml2 ? fround(sumlx / suml2) : 0;
  let best = fround(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fround(-fround(nmax + fround(TENTH * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xOff + i];
      let l = nearestInt(fround(iscale * xi));
      l = Math.max(-nmax, Math.min(nmax - 1, l));
      const w = fround(xi * xi);
      sumlx = fround(sumlx + fround(fround(w * xi) * l));
      suml2 = fround(suml2 + fround(fround(w * l) * l));
    }
    if (suml2 > 0 && fround(sumlx * sumlx) > fround(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const l = nearestInt(fround(iscale * x[xOff + i]));
        L[lOff + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
      }
      scale = fround(sumlx / suml2);
      best = fround(scale * sumlx);
    }
  }
  return scale;
}

/** Asymmetric scale + min search (make_qkx2_quants; error |d| when useMad, else d²) over n <= 32 values at
 *  x[xOff..] with importance weights w[0..n). Writes codes in [0, nmax] to L[lOff..] and
 *  theMin to mins[minIdx]; returns the scale, x ≈ scale * L - theMin. `laux`: n bytes scratch. */
export function makeQkx2Quants(
  n: number, nmax: number, x: Float32Array, xOff: number, weights: Float32Array,
  L: Uint8Array, lOff: number, laux: Uint8Array, rmin: number, rdelta: number, nstep: number,
  mins: Float32Array, minIdx: number, useMad = false,
): number {
  let min = x[xOff];
  let max = x[xOff];
  let sumW = weights[0];
  let sumX = fround(sumW * x[xOff]);
  for (let i = 1; i < n; i++) {
    const xi = x[xOff + i];
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i];
    sumW = fround(sumW + w);
    sumX = fround(sumX + fround(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    mins[minIdx] = -min;
    return 0;
  }
  const xm = xMinusMin; // (n) x - min in float32, refreshed whenever min moves
  for (let i = 0; i < n; i++) xm[i] = x[xOff + i] - min;
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i];
    let l = fround(fround(iscale * xm[i]) + 12582912) - 12582912; // nearest_int
    l = l < 0 ? 0 : l > nmax ? nmax : l;
    L[lOff + i] = l;
    const diff = fround(fround(fround(scale * l) + min) - xi);
    bestError = fround(bestError + fround(weights[i] * (useMad ? Math.abs(diff) : fround(diff * diff))));
  }
  if (nstep < 1) {
    mins[minIdx] = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    // min moves to the best fit found so far, and the next step starts from it.
    iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / fround(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      let l = fround(fround(iscale * xm[i]) + 12582912) - 12582912;
      l = l < 0 ? 0 : l > nmax ? nmax : l;
      laux[i] = l;
      const wl = fround(weights[i] * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * x[xOff + i]));
    }
    const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (D > 0) {
      let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
      let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fround(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        const diff = fround(fround(fround(thisScale * laux[i]) + thisMin) - x[xOff + i]);
        curError = fround(curError + fround(weights[i] * (useMad ? Math.abs(diff) : fround(diff * diff))));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lOff + i] = laux[i];
        bestError = curError;
        scale = thisScale;
        if (thisMin !== min) {
          min = thisMin;
          for (let i = 0; i < n; i++) xm[i] = x[xOff + i] - min;
        }
      }
    }
  }
  mins[minIdx] = -min;
  return scale;
}

const xMinusMin = new Float32Array(32);

/** Sub-block j's 6-bit scale and min from the 12 packed bytes at q[o..] (get_scale_min_k4):
 *  j < 4: low 6 bits of bytes j and j + 4; j >= 4: nibbles of byte j + 4, top 2 bits from
 *  bytes j - 4 and j. Returns scale | min << 8. */
export function scaleMinK4(j: number, q: Uint8Array, o: number): number {
  if (j < 4) return (q[o + j] & 63) | ((q[o + j + 4] & 63) << 8);
  const sc = (q[o + j + 4] & 0xf) | ((q[o + j - 4] >> 6) << 4);
  const m = (q[o + j + 4] >> 4) | ((q[o + j] >> 6) << 4);
  return sc | (m << 8);
}

/** Pack eight 6-bit scales and mins into 12 bytes at q[o..] (the inverse of scaleMinK4). */
export function packScaleMinK4(ls: ArrayLike<number>, lm: ArrayLike<number>, q: Uint8Array, o: number): void {
  for (let j = 0; j < 12; j++) q[o + j] = 0;
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      q[o + j] = ls[j];
      q[o + j + 4] = lm[j];
    } else {
      q[o + j + 4] = (ls[j] & 0xf) | ((lm[j] & 0xf) << 4);
      q[o + j - 4] |= (ls[j] >> 4) << 6;
      q[o + j] |= (lm[j] >> 4) << 6;
    }
  }
}

/** Symmetric search with iterative refinement (make_q3_quants, do_rmse = true) over n values
 *  at x[xOff..]: writes codes in [0, 2*nmax) to L[lOff..], returns the scale. */
export function makeQ3Quants(n: number, nmax: number, x: Float32Array, xOff: number, L: Int8Array, lOff: number): number {
  const max = signedAbsMax(x, xOff, n);
  const amax = Math.abs(max);
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    return 0;
  }
  const iscale = fround(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i];
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(fround(iscale * xi))));
    L[lOff + i] = l;
    const w = fround(xi * xi);
    sumlx = fround(sumlx + fround(fround(w * xi) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xOff + i];
      const w = fround(xi * xi);
      const li = L[lOff + i];
      let slx = fround(sumlx - fround(fround(w * xi) * li));
      if (slx > 0) {
        let sl2 = fround(suml2 - fround(fround(w * li) * li));
        let newL = nearestInt(fround(fround(xi * sl2) / slx));
        newL = Math.max(-nmax, Math.min(nmax - 1, newL));
        if (newL !== li) {
          slx = fround(slx + fround(fround(w * xi) * newL));
          sl2 = fround(sl2 + fround(fround(w * newL) * newL));
          if (sl2 > 0 && fround(fround(slx * slx) * suml2) > fround(fround(sumlx * sumlx) * sl2)) {
            L[lOff + i] = newL;
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (!nChanged) break;
  }
  for (let i = 0; i < n; i++) L[lOff + i] += nmax;
  return suml2 > 0 ? fround(sumlx / suml2) : 0;
}
