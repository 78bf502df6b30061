// The web-platform globals the pure core may use: each exists in browsers, Workers, Deno and Node.
// tsconfig.pure.json type-checks the pure folders with these and the ECMAScript library only, so
// anything else from Node (Buffer, process, require, node: modules) fails to compile. Add a global
// here only if every one of those platforms has it.
declare class TextEncoder {
  encode(input?: string): Uint8Array<ArrayBuffer>;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: Uint8Array): string;
}
declare function structuredClone<T>(value: T): T;
