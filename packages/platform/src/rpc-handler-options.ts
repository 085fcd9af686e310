/**
 * How every Connect/gRPC/gRPC-web handler reads request bodies: the HTTP
 * server and the in-process router transport use the same options, so a
 * request is bounded and decoded the same way whichever way it enters.
 */
import type { JsonReadOptions, JsonWriteOptions } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouterOptions } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";

/**
 * Largest request message a method accepts, in bytes, after decompression.
 *
 * Derived from the contract: the largest legitimate request is a SendMessage
 * with 4,000 code points of text; written as JSON with every code point
 * escaped as a surrogate pair ("\ud83d\ude00", 12 bytes) that is 48,000 bytes
 * (16,000 in binary). Id lists are capped at 256 per call (36-byte UUIDs, about
 * 10 KB). 64 KiB leaves room for the other fields and nothing more. A method
 * whose contract needs more must say so in its proto, not raise this.
 *
 * connect-es applies the bound to the wire size (Content-Length is checked
 * before the body is read), to every gRPC envelope, and as zlib's
 * `maxOutputLength` when it inflates a gzip/brotli body, so a compression bomb
 * is refused after at most this many inflated bytes.
 */
export const RPC_READ_MAX_BYTES = 64 * 1024;

/**
 * The contract says strings are valid UTF-8. Binary protobuf enforces it;
 * connect-es decodes JSON bodies with a lenient TextDecoder, which turns bad
 * bytes into U+FFFD and stores them. A fatal decoder makes the parse fail, which
 * connect-es answers with `invalid_argument`. (`textDecoder` is read by
 * connect-es' JSON serialization but missing from the handler option's type.)
 */
const jsonOptions: Partial<JsonReadOptions & JsonWriteOptions> & { textDecoder: TextDecoder } = {
  textDecoder: new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }),
};

/**
 * connect-node's gzip and brotli, except that a body which is not valid
 * compressed data is the client's fault: connect-node answers `internal` for
 * zlib's "unexpected end of file" (a truncated body) and for some brotli
 * errors. Size errors (`resource_exhausted`) pass unchanged.
 */
function clientFaultOnBadData(compression: Compression): Compression {
  return {
    name: compression.name,
    compress: (bytes) => compression.compress(bytes),
    async decompress(bytes, readMaxBytes) {
      try {
        return await compression.decompress(bytes, readMaxBytes);
      } catch (err) {
        const error = ConnectError.from(err);
        if (error.code !== Code.Internal) throw error;
        throw new ConnectError(`request body is not valid ${compression.name} data`, Code.InvalidArgument, undefined, undefined, err);
      }
    },
  };
}

const acceptCompression = [clientFaultOnBadData(compressionGzip), clientFaultOnBadData(compressionBrotli)];

/** Options for `connectNodeAdapter` and `createRouterTransport({ router })`. */
export function rpcHandlerOptions(): Pick<ConnectRouterOptions, "readMaxBytes" | "jsonOptions" | "acceptCompression"> {
  return { readMaxBytes: RPC_READ_MAX_BYTES, jsonOptions, acceptCompression };
}
