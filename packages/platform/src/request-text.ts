/**
 * Postgres `text` cannot hold U+0000: a request string carrying one fails at
 * the first query with a driver error, which the client would see as
 * `internal`. Protobuf and JSON both decode it happily, so every request is
 * checked once here, for every service, before a handler runs.
 */
import { ScalarType, type DescMessage, type Message } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { Code, ConnectError } from "@connectrpc/connect";

const NUL = "\u0000";

/** Nesting is bounded by the decoder's recursion limit; this only walks what was decoded. */
function findNul(message: ReflectMessage, path: string): string | undefined {
  for (const field of message.fields) {
    if (!message.isSet(field)) continue;
    const name = path === "" ? field.name : `${path}.${field.name}`;
    switch (field.fieldKind) {
      case "scalar": {
        const value = message.get(field);
        if (field.scalar === ScalarType.STRING && typeof value === "string" && value.includes(NUL)) return name;
        break;
      }
      case "message": {
        const found = findNul(message.get(field), name);
        if (found) return found;
        break;
      }
      case "list": {
        const list = message.get(field);
        let index = 0;
        for (const item of list) {
          if (field.listKind === "message") {
            const found = findNul(item as ReflectMessage, `${name}[${index}]`);
            if (found) return found;
          } else if (typeof item === "string" && item.includes(NUL)) return `${name}[${index}]`;
          index++;
        }
        break;
      }
      case "map": {
        for (const [key, value] of message.get(field)) {
          if (typeof key === "string" && key.includes(NUL)) return `${name} key`;
          if (field.mapKind === "message") {
            const found = findNul(value as ReflectMessage, `${name}[${String(key)}]`);
            if (found) return found;
          } else if (typeof value === "string" && value.includes(NUL)) return `${name}[${String(key)}]`;
        }
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

/** Throws invalid_argument naming the first string field (dotted path) that holds a NUL character. */
export function assertNoNulCharacters(schema: DescMessage, message: Message): void {
  const field = findNul(reflect(schema, message), "");
  if (field !== undefined) throw new ConnectError(`${field} must not contain NUL characters`, Code.InvalidArgument);
}
