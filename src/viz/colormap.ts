/** An RGB colour as three bytes (0..255). */
export type Rgb = [r: number, g: number, b: number];

/** One channel of a colour map: piecewise-linear through (position, value) stops, both in [0, 1]. */
type ChannelStops = ReadonlyArray<readonly [position: number, value: number]>;

// matplotlib's `jet` segment data, so figures match the seed notebook's colours.
const JET_RED: ChannelStops = [
  [0, 0],
  [0.35, 0],
  [0.66, 1],
  [0.89, 1],
  [1, 0.5],
];
const JET_GREEN: ChannelStops = [
  [0, 0],
  [0.125, 0],
  [0.375, 1],
  [0.64, 1],
  [0.91, 0],
  [1, 0],
];
const JET_BLUE: ChannelStops = [
  [0, 0.5],
  [0.11, 1],
  [0.34, 1],
  [0.65, 0],
  [1, 0],
];

function interpolateChannel(stops: ChannelStops, t: number): number {
  for (let index = 1; index < stops.length; index++) {
    const [endPosition, endValue] = stops[index]!;
    if (t <= endPosition) {
      const [startPosition, startValue] = stops[index - 1]!;
      const fraction = (t - startPosition) / (endPosition - startPosition);
      return startValue + fraction * (endValue - startValue);
    }
  }
  return stops[stops.length - 1]![1];
}

/**
 * The jet colour map: 0 → dark blue, through cyan, green and yellow, to 1 → dark red.
 * Values outside [0, 1] are clamped; NaN maps like 0.
 */
export function jet(t: number): Rgb {
  const clamped = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t));
  return [
    Math.round(255 * interpolateChannel(JET_RED, clamped)),
    Math.round(255 * interpolateChannel(JET_GREEN, clamped)),
    Math.round(255 * interpolateChannel(JET_BLUE, clamped)),
  ];
}
