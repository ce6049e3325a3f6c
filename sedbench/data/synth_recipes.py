"""Sound recipes of desed-synth: one generator per DESED class, distractors, backgrounds, rooms.

Each recipe draws its own parameters from the numpy Generator it is given and returns a float64
mono signal at ``SR`` whose peak is 1 (levels are set later, per event, from the drawn SNR).
Everything is vectorised over samples; the few Python loops run over a handful of partials,
strikes or meows, never over samples.

The recipes are deliberately close where the real classes are close: blender, vacuum cleaner
and shaver all share motor harmonics in 80-300 Hz plus band noise; frying and running water are
both impulsive noise; cat and speech are both formant-filtered harmonic sources (a child's voice
and a low meow overlap in pitch).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

SR = 16000
NYQ = SR / 2

Recipe = Callable[[np.random.Generator], np.ndarray]


# ------------------------------------------------------------------------------------ helpers
def _n(seconds: float) -> int:
    return max(1, int(round(seconds * SR)))


def _filter(x: np.ndarray, kind: str, freq, order: int = 2) -> np.ndarray:
    """Butterworth filter; edges are clamped so random parameters never leave (0, Nyquist)."""
    freq = np.clip(np.atleast_1d(np.asarray(freq, dtype=float)), 20.0, NYQ * 0.95)
    if kind == "bandpass" and freq[1] <= freq[0] * 1.05:
        freq = np.array([freq[0], min(freq[0] * 1.5, NYQ * 0.95)])
    # designing a filter costs more than running it: snap edges to 1/24 octave and reuse designs
    steps = tuple(int(v) for v in np.round(np.log2(freq) * 24))
    return sosfilt(_butter(kind, steps, order), x)


@lru_cache(maxsize=2048)
def _butter(kind: str, steps: tuple[int, ...], order: int) -> np.ndarray:
    freq = [min(2 ** (k / 24), NYQ * 0.97) for k in steps]
    return butter(order, freq if len(freq) > 1 else freq[0], btype=kind, fs=SR, output="sos")


def _norm(x: np.ndarray) -> np.ndarray:
    peak = np.max(np.abs(x)) if x.size else 0.0
    return x / peak if peak > 0 else x


def _slow(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """Smooth random curve (zero mean, unit std) varying at about ``rate_hz``: load and level drifts."""
    return _upsample(rng.standard_normal(max(2, int(n / SR * rate_hz) + 2)), n)


def _upsample(control: np.ndarray, n: int) -> np.ndarray:
    """Linear interpolation of a control curve onto n samples."""
    return np.interp(np.linspace(0, len(control) - 1, n), np.arange(len(control)), control)


def _fade(n: int, attack: float, release: float) -> np.ndarray:
    env = np.ones(n)
    a, r = min(_n(attack), n // 2), min(_n(release), n // 2)
    env[:a] = np.linspace(0, 1, a, endpoint=False)
    if r:
        env[n - r :] = np.linspace(1, 0, r)
    return env


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Causal moving average (cumsum: np.convolve with a long box is far slower)."""
    c = np.cumsum(np.concatenate([np.zeros(width), x]))
    return (c[width:] - c[:-width]) / width


def _tones(n: int, freqs, amps, rng: np.random.Generator) -> np.ndarray:
    """Stationary partials rounded to whole Hz, so one second tiles seamlessly (hums, fans)."""
    t = np.arange(SR) / SR
    freqs = np.round(np.asarray(freqs, dtype=float))[:, None]
    amps = np.asarray(amps, dtype=float)[:, None] * (freqs < NYQ * 0.95)
    second = np.sum(
        amps * np.sin(2 * np.pi * freqs * t + rng.uniform(0, 2 * np.pi, size=freqs.shape)), axis=0
    )
    return np.tile(second, n // SR + 1)[:n]


def _phase(f0: np.ndarray) -> np.ndarray:
    """Phase in cycles of a tone whose frequency (Hz) varies per sample."""
    return np.cumsum(f0) / SR


def _saw(f0: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Band-limited (polyBLEP) sawtooth: a cheap harmonic-rich source without audible aliasing."""
    t = (_phase(f0) + rng.random()) % 1.0
    dt = np.clip(f0 / SR, 1e-6, 0.5)
    saw = 2.0 * t - 1.0
    lo, hi = t < dt, t > 1.0 - dt
    x = t[lo] / dt[lo]
    saw[lo] -= 2 * x - x * x - 1
    x = (t[hi] - 1.0) / dt[hi]
    saw[hi] -= x * x + 2 * x + 1
    return saw


def _partials(n: int, freqs, decays, amps, rng: np.random.Generator) -> np.ndarray:
    """Sum of exponentially decaying sinusoids (struck objects: bells, clinks, knocks)."""
    t = np.arange(n) / SR
    freqs, decays, amps = (np.asarray(v, dtype=float)[:, None] for v in (freqs, decays, amps))
    alive = freqs < NYQ * 0.95
    phase = rng.uniform(0, 2 * np.pi, size=freqs.shape)
    return np.sum(alive * amps * np.exp(-t / decays) * np.sin(2 * np.pi * freqs * t + phase), axis=0)


def _scatter(n: int, positions: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Add kernels (K, L) into a length-n buffer at sample positions (K,): clicks, bubbles, strikes."""
    if len(positions) == 0:
        return np.zeros(n)
    idx = positions[:, None] + np.arange(kernels.shape[1])[None, :]
    keep = (idx >= 0) & (idx < n)
    return np.bincount(idx[keep], weights=kernels[keep], minlength=n)[:n]


def _bursts(rng: np.random.Generator, count: int, length: int, decay: tuple[float, float]) -> np.ndarray:
    """Short exponentially decaying noise bursts (K, L): crackles, clicks, knocks' attack."""
    t = np.arange(length) / SR
    tau = rng.uniform(*decay, size=(count, 1))
    return rng.standard_normal((count, length)) * np.exp(-t[None, :] / tau)


# Time-varying spectral shaping in the STFT domain: one vectorised pass gives moving formants
# (speech, meows, barks) without per-block IIR filtering. A sqrt-Hann window at 50 % overlap is
# used for analysis and synthesis, so an all-ones gain gives the input back.
_NFFT, _HOP = 512, 256
_WINDOW = np.sqrt(np.hanning(_NFFT + 1)[:-1])
_FREQS = np.fft.rfftfreq(_NFFT, 1 / SR)[:, None]


def _shape(x: np.ndarray, gain: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Filter ``x`` by ``gain(freqs (F, 1), times (1, T)) -> (F, T)`` magnitude, frame by frame."""
    n = len(x)
    frames = -(-(n + _NFFT) // _HOP)
    padded = np.zeros((frames + 1) * _HOP)
    padded[_HOP: _HOP + n] = x
    view = np.lib.stride_tricks.sliding_window_view(padded, _NFFT)[::_HOP][:frames]
    spec = np.fft.rfft(view * _WINDOW, axis=1)
    times = ((np.arange(len(spec)) * _HOP + _NFFT / 2 - _HOP) / SR)[None, :]
    out = np.fft.irfft(spec * gain(_FREQS, times).T, _NFFT, axis=1) * _WINDOW
    # overlap-add: at 50 % overlap, first halves and second halves tile the signal
    y = np.zeros((len(out) + 1) * _HOP)
    y[: len(out) * _HOP] += out[:, :_HOP].reshape(-1)
    y[_HOP: (len(out) + 1) * _HOP] += out[:, _HOP:].reshape(-1)
    return y[_HOP: _HOP + n]


def _formants(freqs: np.ndarray, tracks: np.ndarray, bandwidths, amps) -> np.ndarray:
    """Parallel resonances: (F, 1) frequencies, (K, 1, T) centre tracks -> (F, T) magnitude."""
    bw = np.asarray(bandwidths, dtype=float).reshape(-1, 1, 1)
    amp = np.asarray(amps, dtype=float).reshape(-1, 1, 1)
    return np.sum(amp / (1.0 + ((freqs[None] - tracks) / (bw / 2)) ** 2), axis=0)


def _track(values: np.ndarray, knots_s: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Interpolate control values (K, M) at knot times (M,) onto STFT frame times (1, T)."""
    return np.stack([np.interp(times[0], knots_s, v) for v in values])[:, None, :]


def _segments(rng: np.random.Generator, count: int, dur: tuple[float, float], gap: tuple[float, float]):
    """Start/stop sample indices of ``count`` sounds separated by gaps (barks, meows, beeps)."""
    lengths = np.array([_n(rng.uniform(*dur)) for _ in range(count)])
    gaps = np.array([_n(rng.uniform(*gap)) for _ in range(count)])
    starts = np.concatenate([[0], np.cumsum(lengths + gaps)[:-1]])
    return starts, starts + lengths, int(starts[-1] + lengths[-1])


def _gate(n: int, starts, stops, attack: float, release: float) -> np.ndarray:
    env = np.zeros(n)
    for a, b in zip(starts, stops, strict=True):
        env[a:b] = _fade(b - a, attack, release)
    return env


# ------------------------------------------------------------------------------- the classes
def alarm_bell_ringing(rng: np.random.Generator) -> np.ndarray:
    kind = rng.choice(["beep", "bell", "chime"], p=[0.5, 0.3, 0.2])
    if kind == "beep":
        # electronic alarm: on/off beeps at 1.5-3.5 kHz, sometimes two alternating tones
        f = rng.uniform(1500, 3500)
        on, off = rng.uniform(0.08, 0.45), rng.uniform(0.05, 0.3)  # one ringing alarm, one event
        starts, stops, n = _segments(rng, int(rng.integers(3, 16)), (on, on), (off, off))
        tone = np.full(n, f)
        if rng.random() < 0.4:
            beep = np.searchsorted(starts, np.arange(n), side="right") - 1
            tone = np.where(beep % 2 == 1, f * rng.uniform(1.1, 1.4), f)
        ph = 2 * np.pi * _phase(tone)
        x = np.sin(ph) + rng.uniform(0, 0.4) * np.sin(3 * ph) + rng.uniform(0, 0.2) * np.sin(2 * ph)
        return _norm(x * _gate(n, starts, stops, 0.005, 0.01))
    # struck bell with inharmonic partials; an electric bell strikes 10-25 times a second
    f0 = rng.uniform(500, 1800)
    ratios = np.array([1.0, 2.0, 2.76, 3.9, 5.4, 6.8]) * rng.uniform(0.97, 1.03, size=6)
    decays = rng.uniform(0.15, 0.8) / np.sqrt(ratios)
    ir = _partials(_n(4 * decays.max()), f0 * ratios, decays, rng.uniform(0.3, 1.0, size=6), rng)
    if kind == "bell":
        n = _n(rng.uniform(1.0, 6.0))
        hits = np.arange(0, n, _n(1 / rng.uniform(10, 25)))
    else:  # ding-dong doorbell or chime: a few slow strikes
        n = _n(rng.uniform(0.8, 2.5))
        hits = np.sort(rng.integers(0, n // 2, size=int(rng.integers(1, 4))))
    train = np.zeros(n)
    train[hits] = rng.uniform(0.6, 1.0, size=len(hits))
    return _norm(fftconvolve(train, ir)[: n + len(ir) // 2])


def blender(rng: np.random.Generator) -> np.ndarray:
    n = _n(rng.uniform(2.0, 10.0))
    f_motor = rng.uniform(80, 220) * (1 + rng.uniform(0.02, 0.08) * _slow(rng, n, 3))
    level = np.ones(n)
    if rng.random() < 0.6:
        # pulse mode: the motor spins up at each press, the load makes it sag and wobble
        starts, stops, m = _segments(rng, 30, (0.4, 1.6), (0.12, 0.6))
        keep = starts < n
        level = _gate(max(m, n), starts[keep], stops[keep], 0.08, 0.05)[:n]
        spin = np.minimum(1.0, _smooth(level, _n(0.15)))
        f_motor = f_motor * (0.6 + 0.4 * spin)
    motor = _filter(_saw(f_motor, rng), "lowpass", rng.uniform(1500, 4500))
    centre = rng.uniform(500, 3000)
    grind = _filter(rng.standard_normal(n), "bandpass", [centre / 1.6, centre * 1.6])
    grind *= 1 + 0.5 * np.sin(2 * np.pi * _phase(f_motor))  # chopping at the rotation rate
    x = rng.uniform(0.4, 1.0) * _norm(motor) + rng.uniform(0.3, 1.0) * _norm(grind)
    return _norm(x * level * _fade(n, 0.1, 0.1) * (1 + 0.15 * _slow(rng, n, 2)))


def cat(rng: np.random.Generator) -> np.ndarray:
    count = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
    starts, stops, n = _segments(rng, count, (0.4, 1.5), (0.3, 1.0))
    f0 = np.zeros(n)
    knots_t, f1, f2, f3 = [], [], [], []
    size = rng.uniform(1.1, 1.5)  # small vocal tract: formants above an adult's
    for a, b in zip(starts, stops, strict=True):
        u = np.linspace(0, 1, b - a)
        peak = rng.uniform(0.3, 0.6)
        f_start = rng.uniform(300, 600)
        contour = np.interp(
            u, [0, peak, 1], [f_start, f_start * rng.uniform(1.2, 1.8), f_start * rng.uniform(0.7, 1.0)]
        )
        f0[a:b] = contour
        # "mee-ow": /i/ -> /a/ -> /u/
        knots_t += [a / SR, (a + peak * (b - a)) / SR, b / SR]
        f1 += [400 * size, 850 * size, 450 * size]
        f2 += [2200 * size, 1500 * size, 900 * size]
        f3 += [3000 * size, 2700 * size, 2500 * size]
    env = _gate(n, starts, stops, rng.uniform(0.04, 0.1), rng.uniform(0.1, 0.3))
    src = (_saw(np.maximum(f0, 50), rng) + 0.08 * rng.standard_normal(n)) * env
    knots = np.array(knots_t)
    out = _shape(
        src,
        lambda f, t: _formants(f, _track(np.array([f1, f2, f3]), knots, t), [120, 200, 300], [1.0, 0.7, 0.3]),
    )
    return _norm(out)


def dishes(rng: np.random.Generator) -> np.ndarray:
    count = int(rng.integers(1, 9))
    onsets = np.cumsum(np.concatenate([[0.0], rng.exponential(rng.uniform(0.1, 0.6), size=count - 1)]))
    # one or two objects (a plate, a glass) so successive clinks share a timbre
    objects = [rng.uniform(1500, 7000, size=int(rng.integers(3, 7))) for _ in range(int(rng.integers(1, 3)))]
    n = _n(onsets[-1] + 0.35 * 4)
    out = np.zeros(n)
    for onset in onsets:
        freqs = objects[int(rng.integers(len(objects)))] * rng.uniform(0.98, 1.02)
        decays = rng.uniform(0.03, 0.35, size=len(freqs))
        clink = _partials(_n(4 * decays.max()), freqs, decays, rng.lognormal(0, 0.5, size=len(freqs)), rng)
        clink[: _n(0.004)] += rng.uniform(0.5, 2.0) * rng.standard_normal(_n(0.004))
        a = _n(onset)
        out[a : a + len(clink)] += rng.lognormal(0, 0.4) * clink[: n - a]
    return _norm(_filter(out, "highpass", 800))


def dog(rng: np.random.Generator) -> np.ndarray:
    # dogs bark in bouts; pauses under MERGE_GAP_S make a bout one labelled event, as DESED labels it
    count = int(rng.integers(1, 6))
    starts, stops, n = _segments(rng, count, (0.08, 0.3), (0.05, 0.3))
    base = rng.uniform(150, 600)  # a big dog barks low
    f0 = np.full(n, base)
    for a, b in zip(starts, stops, strict=True):
        u = np.linspace(0, 1, b - a)
        f0[a:b] = base * np.interp(u, [0, 0.25, 1], [0.9, rng.uniform(1.1, 1.5), rng.uniform(0.7, 0.9)])
    env = np.zeros(n)
    for a, b in zip(starts, stops, strict=True):
        t = np.arange(b - a) / SR
        env[a:b] = np.minimum(1, t / rng.uniform(0.005, 0.015)) * np.exp(-t / rng.uniform(0.05, 0.15))
    noisy = rng.uniform(0.2, 0.7)
    src = ((1 - noisy) * _saw(f0, rng) + noisy * 1.5 * rng.standard_normal(n)) * env
    tract = rng.uniform(0.85, 1.2)
    centres = np.array([[600], [1500], [2600]]) * tract
    out = _shape(
        src,
        lambda f, t: _formants(
            f, centres[:, :, None] * np.ones_like(t)[None], [250, 300, 400], [1.0, 0.8, 0.4]
        ),
    )
    return _norm(out)


def electric_shaver_toothbrush(rng: np.random.Generator) -> np.ndarray:
    n = _n(rng.uniform(1.5, 10.0))
    vibrato = rng.uniform(0.005, 0.04) * np.sin(2 * np.pi * rng.uniform(3, 9) * np.arange(n) / SR)
    f0 = rng.uniform(90, 300) * (1 + vibrato + 0.01 * _slow(rng, n, 2))
    lo = rng.uniform(500, 1500)
    buzz = _filter(_saw(f0, rng), "bandpass", [lo, lo * rng.uniform(2.5, 6)], order=int(rng.integers(1, 3)))
    # pressing on skin or teeth loads the motor: level moves with the stroke
    stroke = 1 + rng.uniform(0.1, 0.5) * np.sin(2 * np.pi * rng.uniform(0.5, 3) * np.arange(n) / SR)
    x = _norm(buzz) * stroke + rng.uniform(0.02, 0.15) * _norm(
        _filter(rng.standard_normal(n), "highpass", 2000)
    )
    return _norm(x * _fade(n, 0.05, 0.1))


def frying(rng: np.random.Generator) -> np.ndarray:
    n = _n(rng.uniform(3.0, 10.0))
    count = rng.poisson(rng.uniform(30, 300) * n / SR)
    kernels = _bursts(rng, count, _n(0.006), (0.0003, 0.002))
    kernels *= rng.lognormal(0, 0.9, size=(count, 1))
    crackle = _filter(
        _scatter(n, rng.integers(0, n, size=count), kernels), "highpass", rng.uniform(1000, 3500)
    )
    hiss = _filter(rng.standard_normal(n), "highpass", rng.uniform(1500, 4500))
    hiss *= np.exp(rng.uniform(0.1, 0.4) * _slow(rng, n, 4))
    x = _norm(crackle) + rng.uniform(0.1, 0.6) * _norm(hiss)
    return _norm(x * _fade(n, 0.2, 0.3))


def running_water(rng: np.random.Generator) -> np.ndarray:
    n = _n(rng.uniform(2.0, 10.0))
    lo = rng.uniform(200, 800)
    flow = _filter(rng.standard_normal(n), "bandpass", [lo, rng.uniform(3000, 7500)])
    # the flow fluctuates by a few dB; a tap does not fall silent mid-stream
    flow *= np.exp(rng.uniform(0.1, 0.35) * _slow(rng, n, rng.uniform(2, 15)))
    # bubbles: damped sinusoids whose pitch rises as they leave the surface (Minnaert-like)
    count = rng.poisson(rng.uniform(5, 60) * n / SR)
    length = _n(0.06)
    t = np.arange(length) / SR
    f = rng.uniform(400, 3000, size=(count, 1)) * (1 + rng.uniform(0.5, 3.0, size=(count, 1)) * t / 0.06)
    tau = rng.uniform(0.005, 0.03, size=(count, 1))
    bubbles = (
        np.sin(2 * np.pi * np.cumsum(f, axis=1) / SR) * np.exp(-t / tau) * rng.lognormal(0, 0.6, (count, 1))
    )
    bubbly = _scatter(n, rng.integers(0, n, size=count), bubbles)
    x = _norm(flow) + rng.uniform(0.2, 1.0) * _norm(bubbly)
    return _norm(x * _fade(n, 0.15, 0.3))


_VOWELS = np.array(
    [  # F1, F2, F3 of an adult male (Peterson & Barney)
        [730, 1090, 2440],
        [530, 1840, 2480],
        [270, 2290, 3010],
        [570, 840, 2410],
        [300, 870, 2240],
        [660, 1720, 2410],
        [490, 1350, 1690],
        [640, 1190, 2390],
    ],
    dtype=float,
)


def speech(rng: np.random.Generator) -> np.ndarray:
    speaker = int(rng.choice(3, p=[0.4, 0.4, 0.2]))  # male, female, child
    f_base = rng.uniform(*[(85, 150), (165, 255), (240, 340)][speaker])
    tract = [1.0, 1.17, 1.3][speaker] * rng.uniform(0.95, 1.05)
    rate = rng.uniform(3.0, 6.0)
    phrases = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
    lengths, voiced = [], []
    for p in range(phrases):
        syl = int(rng.integers(3, 15))
        lengths += list(rng.uniform(0.6, 1.4, size=syl) / rate)
        voiced += [True] * syl
        if p < phrases - 1:
            lengths.append(rng.uniform(0.2, 0.7))
            voiced.append(False)
    bounds = np.concatenate([[0], np.cumsum([_n(s) for s in lengths])])
    n = int(bounds[-1])
    voiced = np.array(voiced)
    # per-sample syllable index and position inside the syllable
    idx = np.searchsorted(bounds, np.arange(n), side="right") - 1
    pos = (np.arange(n) - bounds[idx]) / np.maximum(np.diff(bounds)[idx], 1)
    amp = rng.uniform(0.6, 1.0, size=len(lengths)) * voiced
    env = amp[idx] * np.sin(np.pi * pos)
    accent = rng.uniform(-0.15, 0.2, size=len(lengths))
    declination = np.linspace(0.1, -0.1, n)
    f0 = f_base * (1 + declination + accent[idx] * np.sin(np.pi * pos) + 0.01 * _slow(rng, n, 8))
    src = _saw(f0, rng) * env + 0.05 * rng.standard_normal(n) * env
    # consonants: fricative noise bursts at some syllable onsets
    fric_on = (rng.random(len(lengths)) < 0.4) & voiced
    fric = fric_on[idx] * np.clip(1 - pos / 0.25, 0, 1) * amp[idx]
    src_fric = _filter(rng.standard_normal(n), "highpass", rng.uniform(2500, 5000)) * fric * 0.5
    vowels = _VOWELS[rng.integers(len(_VOWELS), size=len(lengths))].T * tract
    centres = (bounds[:-1] + bounds[1:]) / 2 / SR
    # bandwidths grow with pitch, so sparse harmonics of a high voice still excite every vowel
    bw = np.array([90, 120, 180]) + 0.5 * f_base
    shaped = _shape(src, lambda f, t: 0.05 + _formants(f, _track(vowels, centres, t), bw, [1.0, 0.6, 0.25]))
    return _norm(shaped + src_fric)


def vacuum_cleaner(rng: np.random.Generator) -> np.ndarray:
    n = _n(rng.uniform(3.0, 10.0))
    air = _filter(rng.standard_normal(n), "lowpass", rng.uniform(800, 4000), order=int(rng.integers(1, 4)))
    # the motor whine ramps up when the cleaner starts (and down when it stops)
    ramp = np.ones(n)
    up = min(_n(rng.uniform(0.5, 2.0)), n)
    ramp[:up] = np.linspace(0.4, 1.0, up)
    if rng.random() < 0.5:
        down = min(_n(rng.uniform(0.5, 1.5)), n // 2)
        ramp[n - down :] = np.linspace(1.0, 0.5, down)
    f_whine = rng.uniform(500, 2500) * ramp * (1 + 0.01 * _slow(rng, n, 2))
    ph = 2 * np.pi * _phase(f_whine)
    whine = np.sin(ph) + rng.uniform(0, 0.5) * np.sin(2 * ph)
    hum = _filter(_saw(rng.uniform(80, 220) * ramp, rng), "lowpass", 1000)
    # suction changes when the nozzle touches the floor or a carpet
    suction = np.exp(rng.uniform(0.05, 0.25) * _slow(rng, n, 1))
    x = (_norm(air) + rng.uniform(0.1, 0.5) * whine + rng.uniform(0.0, 0.4) * _norm(hum)) * suction
    return _norm(x * np.minimum(1, ramp * 1.5) * _fade(n, 0.2, 0.2))


RECIPES: dict[str, Recipe] = {
    "Alarm_bell_ringing": alarm_bell_ringing,
    "Blender": blender,
    "Cat": cat,
    "Dishes": dishes,
    "Dog": dog,
    "Electric_shaver_toothbrush": electric_shaver_toothbrush,
    "Frying": frying,
    "Running_water": running_water,
    "Speech": speech,
    "Vacuum_cleaner": vacuum_cleaner,
}


# -------------------------------------------------------------------------------- distractors
# Unlabelled sounds a detector must learn to ignore; several sit close to a target class
# (a phone buzz near the shaver, a microwave beep near the alarm, rustling near frying).
def _knock(rng: np.random.Generator) -> np.ndarray:
    count = int(rng.integers(2, 6))
    gap = _n(rng.uniform(0.1, 0.3))
    length = _n(0.25)
    kernels = np.stack(
        [
            _partials(
                length,
                [rng.uniform(80, 250), rng.uniform(300, 900)],
                [rng.uniform(0.02, 0.08), 0.02],
                [1.0, 0.4],
                rng,
            )
            for _ in range(count)
        ]
    )
    kernels[:, : _n(0.003)] += rng.standard_normal((count, _n(0.003)))
    return _norm(_scatter(gap * count + length, np.arange(count) * gap, kernels))


def _keyboard(rng: np.random.Generator) -> np.ndarray:
    n = _n(rng.uniform(1.0, 4.0))
    count = rng.poisson(rng.uniform(4, 12) * n / SR) + 1
    pos = rng.integers(0, n, size=count)
    kernels = _bursts(rng, count, _n(0.01), (0.001, 0.003)) * rng.lognormal(0, 0.3, (count, 1))
    clicks = _scatter(n, pos, kernels) + 0.6 * _scatter(n, pos + _n(rng.uniform(0.05, 0.1)), kernels)
    return _norm(_filter(clicks, "bandpass", [rng.uniform(800, 2000), rng.uniform(4000, 7000)]))


def _footsteps(rng: np.random.Generator) -> np.ndarray:
    count = int(rng.integers(3, 10))
    step = _n(1 / rng.uniform(1.5, 2.3))
    kernels = _bursts(rng, count, _n(0.12), (0.02, 0.05))
    steps = _scatter(step * count, np.arange(count) * step + rng.integers(0, _n(0.03), size=count), kernels)
    return _norm(_filter(steps, "lowpass", rng.uniform(250, 700)))


def _beep(rng: np.random.Generator) -> np.ndarray:
    # tones outside the alarm recipe's 1.5-3.5 kHz: microwave, oven timer, phone notification
    f = rng.uniform(300, 1300) if rng.random() < 0.6 else rng.uniform(3900, 6500)
    starts, stops, n = _segments(rng, int(rng.integers(1, 5)), (0.1, 0.6), (0.1, 0.4))
    return _norm(np.sin(2 * np.pi * f * np.arange(n) / SR) * _gate(n, starts, stops, 0.005, 0.02))


def _phone_buzz(rng: np.random.Generator) -> np.ndarray:
    starts, stops, n = _segments(rng, int(rng.integers(1, 4)), (0.4, 1.0), (0.3, 0.8))
    buzz = np.sign(np.sin(2 * np.pi * rng.uniform(130, 250) * np.arange(n) / SR))
    return _norm(_filter(buzz, "lowpass", rng.uniform(600, 2000)) * _gate(n, starts, stops, 0.01, 0.02))


def _rustle(rng: np.random.Generator) -> np.ndarray:
    n = _n(rng.uniform(0.5, 3.0))
    noise = _filter(rng.standard_normal(n), "bandpass", [rng.uniform(800, 3000), rng.uniform(5000, 7800)])
    rough = np.maximum(0, _slow(rng, n, rng.uniform(10, 30))) ** 2
    return _norm(noise * rough * _fade(n, 0.05, 0.1))


def _music(rng: np.random.Generator) -> np.ndarray:
    count = int(rng.integers(3, 9))
    note = _n(rng.uniform(0.2, 0.6))
    scale = 220 * 2 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16]) / 12) * rng.uniform(0.8, 1.8)
    kernels = np.stack(
        [
            _partials(
                note + _n(0.2),
                scale[int(rng.integers(len(scale)))] * np.arange(1, 6),
                0.15 / np.arange(1, 6),
                1 / np.arange(1, 6) ** 1.5,
                rng,
            )
            for _ in range(count)
        ]
    )
    return _norm(_scatter(note * (count + 1), np.arange(count) * note, kernels))


def _clock(rng: np.random.Generator) -> np.ndarray:
    count = int(rng.integers(3, 10))
    period = _n(rng.choice([0.5, 1.0]))
    kernels = _bursts(rng, count, _n(0.01), (0.0005, 0.002))
    return _norm(_filter(_scatter(period * count, np.arange(count) * period, kernels), "highpass", 1500))


DISTRACTORS: dict[str, Recipe] = {
    "door_knock": _knock,
    "keyboard": _keyboard,
    "footsteps": _footsteps,
    "beep": _beep,
    "phone_buzz": _phone_buzz,
    "rustle": _rustle,
    "music": _music,
    "clock": _clock,
}


# -------------------------------------------------------------------------------- backgrounds
@lru_cache(maxsize=4)
def _log_freqs(n: int) -> np.ndarray:
    return np.log(np.maximum(np.fft.rfftfreq(n, 1 / SR), 20.0))


def colored_noise(rng: np.random.Generator, n: int, beta: float) -> np.ndarray:
    """1/f^beta noise (beta 1: pink, 2: brown), unit RMS."""
    spec = rng.standard_normal(2 * (n // 2 + 1)).view(np.complex128)
    x = np.fft.irfft(spec * np.exp(-beta / 2 * _log_freqs(n)), n)
    return x / (np.std(x) + 1e-12)


def _rms(x: np.ndarray) -> np.ndarray:
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def _hum(rng: np.random.Generator, n: int, mains: float | None = None) -> np.ndarray:
    mains = mains or float(rng.choice([50.0, 60.0]))
    k = np.arange(1, 9)
    amps = rng.uniform(0.2, 1.0, size=8) / k
    x = _tones(n, mains * k, amps, rng)
    return _rms(x * (1 + 0.1 * _slow(rng, n, 0.5)))


def _fan(rng: np.random.Generator, n: int) -> np.ndarray:
    air = _filter(rng.standard_normal(n), "bandpass", [rng.uniform(80, 200), rng.uniform(800, 2500)])
    blade = _tones(n, rng.uniform(80, 300) * np.arange(1, 4), [1.0, 0.4, 0.2], rng)
    return _rms(_rms(air) + rng.uniform(0.1, 0.5) * _rms(blade))


def _babble(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distant talkers: speech-shaped noise with each talker's own syllabic envelope."""
    talkers = int(rng.integers(3, 7))
    grid = n // 80 + 2  # envelopes live on a 200 Hz control grid; only their sum is upsampled
    power = np.zeros(grid)
    for _ in range(talkers):
        knots = rng.standard_normal(max(2, int(n / SR * rng.uniform(6, 12)) + 2))
        power += np.maximum(0, _upsample(knots, grid)) ** 2
    # independent noises with envelopes e_k sum to one noise with envelope sqrt(sum e_k^2)
    x = rng.standard_normal(n) * np.sqrt(_upsample(power, n))
    x = _filter(_filter(x, "bandpass", [rng.uniform(150, 300), rng.uniform(2500, 4000)]), "lowpass", 1200, 1)
    return _rms(x)


def _traffic(rng: np.random.Generator, n: int) -> np.ndarray:
    rumble = _filter(rng.standard_normal(n), "lowpass", rng.uniform(100, 300))
    t = np.linspace(0, n / SR, n // 80 + 2)
    passes = np.zeros_like(t)
    for _ in range(int(rng.integers(0, 3))):  # cars passing by
        passes += np.exp(-0.5 * ((t - rng.uniform(0, n / SR)) / rng.uniform(0.8, 2.5)) ** 2)
    return _rms(rumble * _upsample(0.5 + passes, n))


def _hvac(rng: np.random.Generator, n: int) -> np.ndarray:
    tone = _hum(rng, n, mains=float(rng.uniform(90, 140)))
    return _rms(_rms(_filter(rng.standard_normal(n), "lowpass", rng.uniform(1500, 4000))) + 0.5 * tone)


def _radio(rng: np.random.Generator, n: int) -> np.ndarray:
    """A radio in another room: a melody of sustained harmonic notes over speech-shaped noise."""
    note = _n(rng.uniform(0.2, 0.6))
    scale = 220 * 2 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12]) / 12) * rng.uniform(0.8, 1.8)
    f0 = np.repeat(scale[rng.integers(len(scale), size=n // note + 1)], note)[:n]
    ph = 2 * np.pi * _phase(f0)
    tune = np.sin(ph) + 0.5 * np.sin(2 * ph) + 0.25 * np.sin(3 * ph)
    return _rms(_filter(_rms(tune) + 0.7 * _babble(rng, n), "bandpass", [300, 3400]))


LAYERS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "hum": _hum,
    "fan": _fan,
    "babble": _babble,
    "traffic": _traffic,
    "hvac": _hvac,
    "radio": _radio,
}


def background(
    rng: np.random.Generator,
    n: int,
    beta: tuple[float, float],
    layers: dict[str, tuple[float, tuple[float, float]]],
) -> np.ndarray:
    """Coloured noise plus optional layers {name: (probability, level range in dB vs the noise)}."""
    bed = colored_noise(rng, n, rng.uniform(*beta))
    for name, (prob, level_db) in layers.items():
        if rng.random() < prob:
            bed = bed + 10 ** (rng.uniform(*level_db) / 20) * LAYERS[name](rng, n)
    return _rms(bed)


# ------------------------------------------------------------------------------------- rooms
def room_ir(rng: np.random.Generator, rt60: float, drr_db: float) -> np.ndarray:
    """Synthetic room impulse response: direct path, early reflections, exponential noise tail."""
    n = _n(rt60)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.91 * t / rt60)
    # air and walls absorb high frequencies first: a darker tail
    tail = _filter(tail, "lowpass", rng.uniform(2500, 7000), order=1)
    tail[: _n(rng.uniform(0.003, 0.015))] = 0.0
    early = rng.integers(_n(0.002), _n(0.04), size=6)
    tail[early] += rng.uniform(-0.6, 0.6, size=6) * np.sqrt(np.sum(tail**2) / 6)
    tail *= 10 ** (-drr_db / 20) / (np.sqrt(np.sum(tail**2)) + 1e-12)
    tail[0] += 1.0
    return tail


def reverberate(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    return fftconvolve(x, ir)
