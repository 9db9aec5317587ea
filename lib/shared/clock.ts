/**
 * Every function that reads the time takes it from one injected clock, every random draw from one injected
 * source, so tests can stand at 23:59:59 on a DST Sunday without waiting.
 */
export type Clock = () => Date
/** Values in [0, 1), like Math.random. */
export type Random = () => number
