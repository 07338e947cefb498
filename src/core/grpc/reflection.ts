import {
  create,
  type DescExtension,
  type DescFile,
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import {
  ServerReflection,
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
} from "./gen/grpc/reflection/v1/reflection_pb.ts";
import {
  ServerReflection as ServerReflectionV1alpha,
  ServerReflectionRequestSchema as V1alphaRequestSchema,
  ServerReflectionResponseSchema as V1alphaResponseSchema,
} from "./gen/grpc/reflection/v1alpha/reflection_pb.ts";

/**
 * gRPC server reflection, grpc.reflection.v1 AND v1alpha (older clients ask only for it),
 * answered from the protobuf-es descriptors compiled into the bundle (no .proto file is read):
 * list services, file by name, file containing a symbol (package.Service, .Method, a message,
 * field, enum, enum value or extension), file containing an extension, and extension numbers.
 * A file comes with every file it imports, transitively, so a client (`buf curl`, grpcurl,
 * Postman) can build the schema from one answer. The two versions are the same messages under
 * two package names, so v1alpha is v1 re-encoded.
 */

type Response = MessageInitShape<typeof ServerReflectionResponseSchema>;
type Answer = NonNullable<Response["messageResponse"]>;

/** What the server's descriptors say, indexed for reflection's questions. */
class Descriptors {
  readonly files = new Map<string, DescFile>();
  readonly symbols = new Map<string, DescFile>();
  /** Extensions by the full name of the message they extend. */
  readonly extensions = new Map<string, DescExtension[]>();
  readonly messages = new Set<string>();

  constructor(roots: DescFile[]) {
    for (const file of roots) this.addFile(file);
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    for (const dependency of file.dependencies) this.addFile(dependency);
    for (const message of file.messages) this.addMessage(message);
    for (const enumeration of file.enums) this.addSymbol(enumeration.typeName, file);
    for (const extension of file.extensions) this.addExtension(extension);
    for (const service of file.services) {
      this.addSymbol(service.typeName, file);
      for (const method of service.methods)
        this.addSymbol(`${service.typeName}.${method.name}`, file);
    }
    // Enum values are scoped like their enum's siblings (pkg.Message.VALUE).
    const enums = [...file.enums, ...this.nestedEnums(file.messages)];
    for (const enumeration of enums) {
      const scope = enumeration.typeName.slice(0, enumeration.typeName.lastIndexOf(".") + 1);
      for (const value of enumeration.values) this.addSymbol(`${scope}${value.name}`, file);
    }
  }

  private nestedEnums(messages: DescMessage[]): DescMessage["nestedEnums"] {
    return messages.flatMap((m) => [...m.nestedEnums, ...this.nestedEnums(m.nestedMessages)]);
  }

  private addMessage(message: DescMessage): void {
    this.messages.add(message.typeName);
    this.addSymbol(message.typeName, message.file);
    for (const field of message.fields)
      this.addSymbol(`${message.typeName}.${field.name}`, message.file);
    for (const oneof of message.oneofs)
      this.addSymbol(`${message.typeName}.${oneof.name}`, message.file);
    for (const nested of message.nestedMessages) this.addMessage(nested);
    for (const enumeration of message.nestedEnums)
      this.addSymbol(enumeration.typeName, message.file);
    for (const extension of message.nestedExtensions) this.addExtension(extension);
  }

  private addExtension(extension: DescExtension): void {
    this.addSymbol(extension.typeName, extension.file);
    const extendee = extension.extendee.typeName;
    this.extensions.set(extendee, [...(this.extensions.get(extendee) ?? []), extension]);
  }

  private addSymbol(name: string, file: DescFile): void {
    if (!this.symbols.has(name)) this.symbols.set(name, file);
  }

  /** `file` first, then everything it imports, transitively, each once, serialized. */
  withDependencies(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const dependency of f.dependencies) visit(dependency);
    };
    visit(file);
    return out;
  }
}

const notFound = (message: string): Answer => ({
  case: "errorResponse",
  value: { errorCode: Code.NotFound, errorMessage: message },
});

function answer(
  descriptors: Descriptors,
  services: string[],
  req: ServerReflectionRequest,
): Answer {
  const files = (file: DescFile | undefined, what: string): Answer =>
    file
      ? {
          case: "fileDescriptorResponse",
          value: { fileDescriptorProto: descriptors.withDependencies(file) },
        }
      : notFound(`${what} not found`);
  const request = req.messageRequest;
  switch (request.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: services.map((name) => ({ name })) },
      };
    case "fileByFilename":
      return files(descriptors.files.get(request.value), `file ${request.value}`);
    case "fileContainingSymbol":
      return files(descriptors.symbols.get(request.value), `symbol ${request.value}`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = request.value;
      const extension = descriptors.extensions
        .get(containingType)
        ?.find((e) => e.number === extensionNumber);
      return files(extension?.file, `extension ${extensionNumber} of ${containingType}`);
    }
    case "allExtensionNumbersOfType":
      if (!descriptors.messages.has(request.value))
        return notFound(`type ${request.value} not found`);
      return {
        case: "allExtensionNumbersResponse",
        value: {
          baseTypeName: request.value,
          extensionNumber: (descriptors.extensions.get(request.value) ?? []).map((e) => e.number),
        },
      };
    default:
      return {
        case: "errorResponse",
        value: { errorCode: Code.InvalidArgument, errorMessage: "no request given" },
      };
  }
}

/**
 * Registers both reflection services, describing `services` (the server's) and every file
 * they and `extraFiles` (say, the error details a client may want to decode) need.
 */
export function registerReflection(
  router: ConnectRouter,
  services: DescService[],
  extraFiles: DescFile[] = [],
): void {
  const names = [
    ...services.map((s) => s.typeName),
    ServerReflection.typeName,
    ServerReflectionV1alpha.typeName,
  ];
  const descriptors = new Descriptors([
    ...services.map((s) => s.file),
    ServerReflection.file,
    ServerReflectionV1alpha.file,
    ...extraFiles,
  ]);
  const respond = (req: ServerReflectionRequest) =>
    create(ServerReflectionResponseSchema, {
      validHost: req.host,
      originalRequest: req,
      messageResponse: answer(descriptors, names, req),
    });

  router.service(ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) yield respond(req);
    },
  });
  // The same messages under grpc.reflection.v1alpha: re-encoded, never re-implemented.
  router.service(ServerReflectionV1alpha, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        const v1 = fromBinary(ServerReflectionRequestSchema, toBinary(V1alphaRequestSchema, req));
        yield fromBinary(
          V1alphaResponseSchema,
          toBinary(ServerReflectionResponseSchema, respond(v1)),
        );
      }
    },
  });
}
