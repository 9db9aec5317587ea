import { writeFileSync } from 'node:fs'
import { openapiDocument, serialize } from './openapi.js'

// `npm run openapi`: writes openapi.json at the project root (the working directory of npm scripts).
writeFileSync('openapi.json', serialize(await openapiDocument()))
process.stdout.write('openapi.json written\n')
