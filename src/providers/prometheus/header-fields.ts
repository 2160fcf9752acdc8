import { validateHeaderName, validateHeaderValue } from 'node:http';
import { z } from 'zod';

/** Checked as node:http checks them when sending, so a header it would refuse is a config error, not a failing call. */
export const headerValue = z.string().refine(
  sendable((value) => validateHeaderValue('x', value)),
  'expected a header value without control characters',
);

export const headers = z.record(z.string(), headerValue).superRefine((record, context) => {
  for (const name of Object.keys(record)) {
    if (!sendable(validateHeaderName)(name))
      context.addIssue({ code: 'custom', path: [name], message: 'expected an HTTP header name (a token: no spaces)' });
  }
});

function sendable(validate: (text: string) => void): (text: string) => boolean {
  return (text) => {
    try {
      validate(text);
      return true;
    } catch {
      return false;
    }
  };
}
