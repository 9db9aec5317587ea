import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const root = new URL('../', import.meta.url)

/** `docker compose` (v2 plugin) or `docker-compose` (v1), whichever this machine has; null when neither. */
function composeCommand (): string[] | null {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    const probe = spawnSync(cmd[0], [...cmd.slice(1), 'version'], { encoding: 'utf8' })
    if (probe.status === 0) return cmd
  }
  return null
}

const compose = composeCommand()

t.test('docker-compose.yml is valid and runs Sellify on PostgreSQL with a volume', { skip: compose === null ? 'neither `docker compose` nor `docker-compose` is installed' : false }, async (t) => {
  const cmd = compose as string[]
  const out = execFileSync(cmd[0], [...cmd.slice(1), 'config'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SELLIFY_API_KEY: 'x'.repeat(40), SELLIFY_ENCRYPTION_KEY: 'ab'.repeat(32) }
  })
  t.match(out, /sellify:/)
  t.match(out, /postgres:/)
  t.match(out, /DATABASE_URL: postgres:\/\/sellify:sellify@postgres:5432\/sellify/)
  t.match(out, /pgdata:\/var\/lib\/postgresql\/data/)
  const missingKey = spawnSync(cmd[0], [...cmd.slice(1), 'config'], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })
  t.not(missingKey.status, 0, 'compose refuses to run without SELLIFY_API_KEY')
  const missingEncryption = spawnSync(cmd[0], [...cmd.slice(1), 'config'], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', SELLIFY_API_KEY: 'x'.repeat(40) } })
  t.not(missingEncryption.status, 0, 'and without SELLIFY_ENCRYPTION_KEY')
  t.match(missingEncryption.stderr, /SELLIFY_ENCRYPTION_KEY/)
})

t.test('Dockerfile: multi-stage, non-root, with a health check on /health', async (t) => {
  const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8')
  t.equal(dockerfile.match(/^FROM /gm)?.length, 2, 'a build stage and a run stage')
  t.match(dockerfile, /^USER node$/m)
  t.match(dockerfile, /^HEALTHCHECK .*\n.*\/health/m)
  t.match(dockerfile, /npm ci/)
  t.match(dockerfile, /CMD \["node", "dist\/server\.js"\]/)
})
