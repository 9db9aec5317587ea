import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { publicAccount } from '../../lib/accounts/settings.js'
import { AdminOnly } from '../../lib/keys/errors.js'
import { actorOf, scopedAccount } from '../../lib/keys/policy.js'
import { bodyChecker } from '../../lib/shared/validation.js'
import { needsTwin, paramFromRest } from '../common/long-params.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import {
  ACCOUNT_ID_MAX_LENGTH, AccountBodySchema, EmptyBodySchema, AccountListSchema, AccountParamsSchema, AccountPatchSchema, AccountSchema, HealthSchema, PauseAccountBodySchema,
  SignalBodySchema, SignalResultSchema
} from './schema.js'

const tags = ['accounts']

/** Where the routes on one account answer: `/:account`, and its hidden twin when the host's router is too short. */
function accountPaths (fastify: FastifyInstance) {
  const paths = [{ url: '/:account', hide: false, twin: {} }]
  if (needsTwin(fastify, ACCOUNT_ID_MAX_LENGTH)) paths.push({ url: '/*', hide: true, twin: { preValidation: paramFromRest('account') } })
  return paths
}

const accounts: FastifyPluginAsyncTypebox = async function accountRoutes (fastify) {
  const service = fastify.sellify.accounts

  fastify.get('', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Every account with its configuration', response: { 200: AccountListSchema, ...errorResponses(503, ...AUTH_ERRORS) } }
  }, async () => ({ accounts: (await service.list()).map(publicAccount) }))

  const health = fastify.sellify.health
  const healthTags = ['anti-ban']
  const own = (request: { principal: Parameters<typeof scopedAccount>[0], params: { account: string } }): string =>
    scopedAccount(request.principal, request.params.account) ?? request.params.account

  for (const { url, hide, twin } of accountPaths(fastify)) {
    if (hide) {
      // The one GET twin answers both `/<account>` and `/<account>/health` (routes/common/long-params.ts).
      fastify.get(url, {
        preValidation: paramFromRest('account', ['health'], true),
        schema: {
          hide,
          tags,
          summary: 'One account\'s configuration or its health (an id longer than the host router allows)',
          params: AccountParamsSchema,
          response: { 200: Type.Union([AccountSchema, HealthSchema]), ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
        }
      }, async (request) => (request.params as { action?: string }).action === 'health'
        ? await health.health(own(request))
        : publicAccount(await service.get(own(request))))
    } else {
      fastify.get(url, {
        schema: {
          tags,
          summary: 'One account\'s configuration (admins, or an agent for its own account)',
          params: AccountParamsSchema,
          response: { 200: AccountSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
        }
      }, async (request) => publicAccount(await service.get(own(request))))
    }

    fastify.put(url, {
      ...twin,
      config: { access: 'admin' },
      schema: {
        hide,
        tags,
        summary: 'Create or replace an account\'s configuration',
        params: AccountParamsSchema,
        body: AccountBodySchema,
        response: { 200: AccountSchema, 201: AccountSchema, ...errorResponses(503, ...BODY_ERRORS, ...AUTH_ERRORS) }
      }
    }, async (request, reply) => {
      const { account, created } = await service.put(request.params.account, request.body ?? {}, actorOf(request.principal))
      if (created) reply.code(201)
      return publicAccount(account)
    })

    fastify.patch(url, {
      ...twin,
      config: { access: 'admin' },
      schema: {
        hide,
        tags,
        summary: 'Change some of an account\'s configuration (JSON merge patch)',
        description: 'Content-Type application/merge-patch+json or application/json. A webhook secret sent as "••••" keeps the stored one of the same URL.',
        params: AccountParamsSchema,
        body: AccountPatchSchema,
        response: { 200: AccountSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
      }
    }, async (request) => publicAccount(await service.patch(request.params.account, request.body, actorOf(request.principal))))

    fastify.delete(url, {
      ...twin,
      config: { access: 'admin' },
      schema: {
        hide,
        tags,
        summary: 'Delete an account, its counters and history, and revoke its agent keys',
        params: AccountParamsSchema,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 404, 409, 503, ...AUTH_ERRORS) }
      }
    }, async (request, reply) => {
      await service.delete(request.params.account, actorOf(request.principal))
      return reply.code(204).send(null)
    })
  }

  // The number's health (README, "How quotas work"). An agent reports and reads for its own account only.
  fastify.post('/:account/signals', {
    schema: {
      tags: healthTags,
      summary: 'Report what the gateway saw from WhatsApp (a disconnection, a 403, a report…): it costs the number health points',
      params: AccountParamsSchema,
      body: SignalBodySchema,
      response: { 200: SignalResultSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await health.signal(own(request), request.body, actorOf(request.principal)))

  fastify.get('/:account/health', {
    schema: {
      tags: healthTags,
      summary: 'The number\'s health score, its pause, its recent signals and what to do',
      params: AccountParamsSchema,
      response: { 200: HealthSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await health.health(own(request)))

  fastify.post('/:account/pause', {
    config: { access: 'admin' },
    schema: {
      tags: healthTags,
      summary: 'Pause the number by hand: every consume refused with account_paused, every decision stop_automation',
      params: AccountParamsSchema,
      body: PauseAccountBodySchema,
      response: { 200: HealthSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await health.pause(request.params.account, request.body?.minutes, actorOf(request.principal)))

  fastify.post('/:account/resume', {
    config: { access: 'admin' },
    schema: {
      tags: healthTags,
      summary: 'Lift the pause, by hand or by the score',
      params: AccountParamsSchema,
      body: EmptyBodySchema,
      response: { 200: HealthSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await health.resume(request.params.account, actorOf(request.principal)))

  if (!needsTwin(fastify, ACCOUNT_ID_MAX_LENGTH)) return
  // The POST twin of the three: each body is checked as its own route checks it, the errors worded alike.
  const signalBody = bodyChecker<Static<typeof SignalBodySchema>>(SignalBodySchema)
  const pauseBody = bodyChecker<Static<typeof PauseAccountBodySchema>>(PauseAccountBodySchema)
  const emptyBody = bodyChecker<Static<typeof EmptyBodySchema>>(EmptyBodySchema)
  fastify.post('/*', {
    preValidation: paramFromRest('account', ['signals', 'pause', 'resume']),
    schema: {
      hide: true,
      tags: healthTags,
      summary: 'signals, pause or resume (an id longer than the host router allows)',
      params: AccountParamsSchema,
      response: { 200: Type.Union([SignalResultSchema, HealthSchema]), ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => {
    const action = (request.params as unknown as { action: 'signals' | 'pause' | 'resume' }).action
    const body = request.body ?? {}
    if (action === 'signals') return await health.signal(own(request), signalBody(body), actorOf(request.principal))
    if (request.principal?.role !== 'admin') throw AdminOnly()
    if (action === 'pause') return await health.pause(request.params.account, pauseBody(body).minutes, actorOf(request.principal))
    emptyBody(body)
    return await health.resume(request.params.account, actorOf(request.principal))
  })
}

export default accounts
