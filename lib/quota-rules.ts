import type { UsagePair } from './store/types.js'
import { LIMIT_NAMES, type Delays, type Kind, type LimitName, type Limits } from './types.js'

/** The counters a send of this kind adds to: every send is a message; media also count as their kind. */
export function increments (kind: Kind, count: number): { messages: number, images: number, videos: number } {
  return {
    messages: count,
    images: kind === 'image' ? count : 0,
    videos: kind === 'video' ? count : 0
  }
}

/** Which limits a kind touches, in the fixed order denials are reported in. */
export function limitsTouched (kind: Kind): LimitName[] {
  return LIMIT_NAMES.filter((l) =>
    l.startsWith('messages') || (kind === 'image' && l === 'images_per_day') || (kind === 'video' && l === 'videos_per_week'))
}

function used (usage: UsagePair, limit: LimitName): number {
  switch (limit) {
    case 'messages_per_day': return usage.day.messages
    case 'messages_per_week': return usage.week.messages
    case 'images_per_day': return usage.day.images
    case 'videos_per_week': return usage.week.videos
  }
}

/** The first limit that `count` sends of `kind` would pass, or null when all of them fit. */
export function firstExceeded (usage: UsagePair, kind: Kind, count: number, limits: Limits): LimitName | null {
  for (const limit of limitsTouched(kind)) {
    if (used(usage, limit) + count > limits[limit]) return limit
  }
  return null
}

/** The seed's field names: what clients read. */
export interface UsageView {
  messages_today: number
  messages_this_week: number
  images_today: number
  videos_this_week: number
}

export function usageView (usage: UsagePair): UsageView {
  return {
    messages_today: usage.day.messages,
    messages_this_week: usage.week.messages,
    images_today: usage.day.images,
    videos_this_week: usage.week.videos
  }
}

/** What is left under each limit; never negative (recorded sends may pass a limit). */
export function remainingView (usage: UsagePair, limits: Limits): UsageView {
  const left = (limit: LimitName): number => Math.max(0, limits[limit] - used(usage, limit))
  return {
    messages_today: left('messages_per_day'),
    messages_this_week: left('messages_per_week'),
    images_today: left('images_per_day'),
    videos_this_week: left('videos_per_week')
  }
}

/**
 * Human-like pacing (SPEC §4): a uniform whole number of seconds in [min, max], doubled once half of the
 * day's messages are used and tripled from 80 %, plus the media pause for an image or a video.
 */
export function pacingDelay (delays: Delays, kind: Kind, messagesBefore: number, dailyLimit: number, random: () => number): number {
  const span = delays.max_seconds - delays.min_seconds + 1
  // Clamp so that a random() of exactly 1 (a misbehaving injected RNG) still stays within [min, max].
  const base = delays.min_seconds + Math.min(span - 1, Math.floor(random() * span))
  const share = dailyLimit > 0 ? messagesBefore / dailyLimit : 1
  const factor = share >= 0.8 ? 3 : share >= 0.5 ? 2 : 1
  return base * factor + (kind === 'text' ? 0 : delays.media_seconds)
}
