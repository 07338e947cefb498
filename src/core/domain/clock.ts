/** The only source of "now" for services and tokens (tests inject their own). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
