/**
 * A Table Storage string column that holds JSON, read back through a zod schema. Rows written before
 * a column existed have none: `whenAbsent` says what that means (parsed by the schema too); without
 * it an absent or empty column makes the row unreadable, like malformed JSON does.
 */
import { z } from 'zod';

export function jsonColumn<T extends z.ZodType>(schema: T, whenAbsent?: { readonly value: unknown }) {
  return z
    .string()
    .optional()
    .transform((text, ctx): z.output<T> => {
      let value: unknown;
      if (!text) {
        if (!whenAbsent) {
          ctx.addIssue({ code: 'custom', message: 'missing JSON column' });
          return z.NEVER;
        }
        value = whenAbsent.value;
      } else {
        try {
          value = JSON.parse(text);
        } catch {
          ctx.addIssue({ code: 'custom', message: 'malformed JSON column' });
          return z.NEVER;
        }
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: 'unexpected JSON column shape' });
        return z.NEVER;
      }
      return parsed.data;
    });
}
