import fp from 'fastify-plugin'
import schedule from '@fastify/schedule'

/**
 * @see https://github.com/fastify/fastify-schedule
 * toad-scheduler as `fastify.scheduler`, shared with the host when it already has one.
 */
export default fp(async function scheduleSetup (fastify) {
  if (!fastify.hasDecorator('scheduler')) await fastify.register(schedule)
}, { name: 'schedule', fastify: '5.x' })
