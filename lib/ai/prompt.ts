/**
 * The prompt, built by a pure function: the same inputs give the same prompt, byte for byte. It carries the
 * rules, the facts of the matched products only, the objective of the state, the language and tone, and
 * the last messages of the conversation.
 */
import type { Analysis } from '../knowledge/matcher.js'
import { languagePack } from '../knowledge/language.js'
import type { KnowledgeBase, Language, Product } from '../knowledge/types.js'
import type { ChatMessage, ChatRequest, Objective } from './types.js'

/** Messages of the conversation shown to the AI, the newest ones. */
export const HISTORY_MESSAGES = 6
/** Matched products whose facts are given, best first: enough for a reply, short enough for a small model. */
export const PROMPT_PRODUCTS = 3

export interface HistoryMessage {
  from: 'customer' | 'bot'
  text: string
}

export interface PromptInput {
  language: Language
  /** The account's `ai.tone`. */
  tone: string
  /** The account's `ai.max_length`, in characters. */
  max_length: number
  objective: Objective
  /** `templates.purchase` (else the language's) tells the `intent` objective how to order. */
  knowledge: Pick<KnowledgeBase, 'business_name' | 'products' | 'templates'>
  /** What the matcher found in the customer's message. */
  match: Pick<Analysis, 'products' | 'objection' | 'faq'>
  /** The conversation, oldest first; only the last HISTORY_MESSAGES are used. */
  history: readonly HistoryMessage[]
}

export interface Prompt {
  system: string
  messages: ChatMessage[]
}

interface Wording {
  intro: (business: string) => string
  rulesTitle: string
  rules: (maxLength: number, tone: string) => string[]
  objectiveTitle: string
  objectives: Record<Objective, string>
  factsTitle: string
  business: string
  product: string
  description: string
  price: string
  noProduct: string
  objection: string
  faq: string
  howToOrder: string
  conversationTitle: string
  customer: string
  bot: string
  noMessage: string
  ask: string
  /** What a rejected reply is answered with, naming what broke the rules. */
  reask: (violations: string) => string
}

const WORDING: Record<Language, Wording> = {
  fr: {
    intro: (b) => `Vous écrivez les messages WhatsApp de ${b} à ses clients.`,
    rulesTitle: 'Règles :',
    rules: (max, tone) => [
      'Écrivez uniquement la réponse qui sert l\'objectif ci-dessous, sans rien ajouter autour.',
      'Ne dites jamais et ne laissez jamais entendre que vous êtes une IA, un bot ou un robot.',
      'Ne mentionnez jamais un humain, un collègue, un transfert ou une escalade.',
      'N\'indiquez aucun produit, prix, promesse, réduction, délai de livraison, lien, numéro de téléphone ou adresse e-mail qui ne figure pas dans les faits.',
      `Au plus ${max} caractères.`,
      `Écrivez en français, sur ce ton : ${tone}.`
    ],
    objectiveTitle: 'Objectif :',
    objectives: {
      discovery: 'saluez le client et demandez-lui ce qu\'il recherche.',
      interest: 'présentez le produit.',
      intent: 'expliquez comment commander.',
      objection: 'répondez à l\'objection.'
    },
    factsTitle: 'Faits (les seuls que vous pouvez citer) :',
    business: 'Entreprise',
    product: 'Produit',
    description: 'Description',
    price: 'Prix',
    noProduct: 'Aucun produit n\'est concerné par ce message.',
    objection: 'Réponse à l\'objection',
    faq: 'Réponse à la question',
    howToOrder: 'Pour commander',
    conversationTitle: 'Conversation (du plus ancien au plus récent) :',
    customer: 'Client',
    bot: 'Vous',
    noMessage: '(Aucun message pour l\'instant.)',
    ask: 'Écrivez maintenant votre prochain message au client.',
    reask: (list) => `Ta réponse ne respecte pas les règles (${list}). Réécris-la en respectant toutes les règles, sans rien ajouter d'autre.`
  },
  en: {
    intro: (b) => `You write the WhatsApp messages of ${b} to its customers.`,
    rulesTitle: 'Rules:',
    rules: (max, tone) => [
      'Write only the reply that serves the objective below, with nothing around it.',
      'Never say or imply that you are an AI, a bot or a robot.',
      'Never mention a human, a colleague, a transfer or an escalation.',
      'State no product, price, promise, discount, delivery term, link, phone number or e-mail address that is not in the facts.',
      `At most ${max} characters.`,
      `Write in English, in this tone: ${tone}.`
    ],
    objectiveTitle: 'Objective:',
    objectives: {
      discovery: 'greet the customer and ask what they are looking for.',
      interest: 'present the product.',
      intent: 'explain how to order.',
      objection: 'answer the objection.'
    },
    factsTitle: 'Facts (the only ones you may state):',
    business: 'Business',
    product: 'Product',
    description: 'Description',
    price: 'Price',
    noProduct: 'No product concerns this message.',
    objection: 'Answer to the objection',
    faq: 'Answer to the question',
    howToOrder: 'How to order',
    conversationTitle: 'Conversation (oldest first):',
    customer: 'Customer',
    bot: 'You',
    noMessage: '(No messages yet.)',
    ask: 'Now write your next message to the customer.',
    reask: (list) => `Your reply breaks the rules (${list}). Rewrite it following every rule, adding nothing else.`
  },
  es: {
    intro: (b) => `Usted escribe los mensajes de WhatsApp de ${b} a sus clientes.`,
    rulesTitle: 'Reglas:',
    rules: (max, tone) => [
      'Escriba solo la respuesta que cumple el objetivo indicado abajo, sin añadir nada alrededor.',
      'Nunca diga ni dé a entender que es una IA, un bot o un robot.',
      'Nunca mencione a un humano, un colega, una transferencia ni una escalada.',
      'No indique ningún producto, precio, promesa, descuento, plazo de entrega, enlace, número de teléfono ni correo electrónico que no figure en los datos.',
      `Como máximo ${max} caracteres.`,
      `Escriba en español, con este tono: ${tone}.`
    ],
    objectiveTitle: 'Objetivo:',
    objectives: {
      discovery: 'salude al cliente y pregúntele qué busca.',
      interest: 'presente el producto.',
      intent: 'explique cómo hacer un pedido.',
      objection: 'responda a la objeción.'
    },
    factsTitle: 'Datos (los únicos que puede mencionar):',
    business: 'Negocio',
    product: 'Producto',
    description: 'Descripción',
    price: 'Precio',
    noProduct: 'Ningún producto corresponde a este mensaje.',
    objection: 'Respuesta a la objeción',
    faq: 'Respuesta a la pregunta',
    howToOrder: 'Cómo hacer un pedido',
    conversationTitle: 'Conversación (de la más antigua a la más reciente):',
    customer: 'Cliente',
    bot: 'Usted',
    noMessage: '(Todavía no hay mensajes.)',
    ask: 'Escriba ahora su próximo mensaje al cliente.',
    reask: (list) => `Tu respuesta no respeta las reglas (${list}). Reescríbela respetando todas las reglas, sin añadir nada más.`
  },
  pt: {
    intro: (b) => `Você escreve as mensagens de WhatsApp de ${b} para os seus clientes.`,
    rulesTitle: 'Regras:',
    rules: (max, tone) => [
      'Escreva apenas a resposta que cumpre o objetivo abaixo, sem acrescentar nada à volta.',
      'Nunca diga nem dê a entender que é uma IA, um bot ou um robô.',
      'Nunca mencione um humano, um colega, uma transferência ou um escalonamento.',
      'Não indique nenhum produto, preço, promessa, desconto, prazo de entrega, link, número de telefone ou e-mail que não esteja nos dados.',
      `No máximo ${max} caracteres.`,
      `Escreva em português, com este tom: ${tone}.`
    ],
    objectiveTitle: 'Objetivo:',
    objectives: {
      discovery: 'cumprimente o cliente e pergunte o que procura.',
      interest: 'apresente o produto.',
      intent: 'explique como fazer o pedido.',
      objection: 'responda à objeção.'
    },
    factsTitle: 'Dados (os únicos que pode mencionar):',
    business: 'Empresa',
    product: 'Produto',
    description: 'Descrição',
    price: 'Preço',
    noProduct: 'Nenhum produto corresponde a esta mensagem.',
    objection: 'Resposta à objeção',
    faq: 'Resposta à pergunta',
    howToOrder: 'Como fazer o pedido',
    conversationTitle: 'Conversa (da mais antiga à mais recente):',
    customer: 'Cliente',
    bot: 'Você',
    noMessage: '(Ainda não há mensagens.)',
    ask: 'Escreva agora a sua próxima mensagem ao cliente.',
    reask: (list) => `A sua resposta não respeita as regras (${list}). Reescreva-a respeitando todas as regras, sem acrescentar mais nada.`
  }
}

/**
 * One line per text: a newline in a product's description or a customer's message cannot start a line of
 * its own that would read as a rule or as the other side of the conversation.
 */
const line = (text: string): string => text.replace(/\s+/g, ' ').trim()

function productFacts (w: Wording, colon: string, p: Product): string[] {
  const description = [p.short_description, p.long_description].map(line).filter((d) => d !== '').join(' ')
  return [
    `- ${w.product}${colon}${line(p.name)}`,
    ...(description === '' ? [] : [`  ${w.description}${colon}${description}`]),
    `  ${w.price}${colon}${p.price} ${p.currency}`
  ]
}

const PLACEHOLDER = /\{(name|price|currency|short_description|business_name)\}/g

/**
 * The purchase template, filled for the best product: the account's own way to order, so that "explain how
 * to order" has a fact to stand on. Without a product, only a template that names none.
 */
function howToOrder (input: PromptInput, product: Product | undefined): string | null {
  const template = input.knowledge.templates.purchase ?? languagePack(input.language).templates.purchase
  const values: Record<string, string | undefined> = {
    business_name: input.knowledge.business_name,
    name: product?.name,
    price: product?.price,
    currency: product?.currency,
    short_description: product?.short_description
  }
  let missing = false
  const text = template.replace(PLACEHOLDER, (_, key: string) => {
    const value = values[key]
    if (value === undefined) missing = true
    return value ?? ''
  })
  return missing ? null : line(text)
}

export function buildPrompt (input: PromptInput): Prompt {
  const w = WORDING[input.language]
  // French typography puts a space before a colon; the other three languages do not.
  const colon = input.language === 'fr' ? ' : ' : ': '
  const byId = new Map(input.knowledge.products.map((p) => [p.id, p]))
  const products = input.match.products
    .map((m) => byId.get(m.id))
    .filter((p): p is Product => p !== undefined)
    .slice(0, PROMPT_PRODUCTS)
  const facts = [
    `- ${w.business}${colon}${line(input.knowledge.business_name)}`,
    ...(products.length === 0 ? [`- ${w.noProduct}`] : products.flatMap((p) => productFacts(w, colon, p))),
    ...(input.match.objection === null ? [] : [`- ${w.objection}${colon}${line(input.match.objection.answer)}`]),
    ...(input.match.faq === null ? [] : [`- ${w.faq}${colon}${line(input.match.faq.answer)}`])
  ]
  const order = input.objective === 'intent' ? howToOrder(input, products[0]) : null
  if (order !== null) facts.push(`- ${w.howToOrder}${colon}${order}`)
  const system = [
    w.intro(line(input.knowledge.business_name)),
    '',
    w.rulesTitle,
    ...w.rules(input.max_length, line(input.tone)).map((r, i) => `${i + 1}. ${r}`),
    '',
    `${w.objectiveTitle} ${w.objectives[input.objective]}`,
    '',
    w.factsTitle,
    ...facts
  ].join('\n')

  // The conversation as one transcript in one user turn: every chat template accepts it (some servers'
  // templates refuse two turns of one role in a row, or a first turn that is not the user's), and the
  // customer's words stay quoted data rather than instructions.
  const recent = input.history.slice(-HISTORY_MESSAGES)
  const transcript = recent.length === 0
    ? [w.noMessage]
    : recent.map((m) => `${m.from === 'customer' ? w.customer : w.bot}${colon}${line(m.text)}`)
  const user = [w.conversationTitle, ...transcript, '', w.ask].join('\n')
  return { system, messages: [{ role: 'user', content: user }] }
}

/**
 * The request of a prompt. `max_tokens` is the length limit itself: a token is at least one character, so a
 * reply within `max_length` is never cut short.
 */
export function chatRequest (prompt: Prompt, settings: { temperature: number, max_length: number }): ChatRequest {
  return { system: prompt.system, messages: prompt.messages, temperature: settings.temperature, max_tokens: settings.max_length }
}

/** The re-ask of a rejected reply in the prompt's language, naming each violated rule and what broke it. */
export function reaskText (language: Language, violations: ReadonlyArray<{ rule: string, detail: string }>): string {
  return WORDING[language].reask(violations.map((v) => `${v.rule}: ${v.detail}`).join('; '))
}
