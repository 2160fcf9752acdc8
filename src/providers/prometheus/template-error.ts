/** A template that cannot parse, or data it cannot render; the message says where (line, column). */
export class TemplateError extends Error {}
