import { AwsJsonError, AwsJsonServer, type Failure, type RecordedCall } from './aws-json-server.js';

/** The three approximate counts the adapter reads, as SQS reports them. */
export interface QueueCounts {
  visible: number;
  inFlight: number;
  delayed: number;
}

const ATTRIBUTE_OF: Record<string, keyof QueueCounts> = {
  ApproximateNumberOfMessages: 'visible',
  ApproximateNumberOfMessagesNotVisible: 'inFlight',
  ApproximateNumberOfMessagesDelayed: 'delayed',
};

export const DEFAULT_ACCOUNT = '000000000000';

function queueDoesNotExist(): AwsJsonError {
  return new AwsJsonError(
    400,
    'com.amazonaws.sqs#QueueDoesNotExist',
    'The specified queue does not exist.',
    'AWS.SimpleQueueService.NonExistentQueue;Sender',
  );
}

/**
 * SQS over AWS JSON 1.0 (GetQueueUrl, GetQueueAttributes), with queues the test sets up and
 * every call recorded. Queue URLs point back at this server, as moto's and LocalStack's do.
 */
export class SqsDouble {
  private readonly server: AwsJsonServer;
  private readonly queues = new Map<string, QueueCounts>();

  constructor() {
    this.server = new AwsJsonServer('AmazonSQS', {
      GetQueueUrl: (body) => this.getQueueUrl(body),
      GetQueueAttributes: (body) => this.getQueueAttributes(body),
    });
  }

  static async start(): Promise<SqsDouble> {
    const double = new SqsDouble();
    await double.server.start();
    return double;
  }

  get url(): string {
    return this.server.url;
  }

  get calls(): RecordedCall[] {
    return this.server.calls;
  }

  callsOf(operation: 'GetQueueUrl' | 'GetQueueAttributes'): RecordedCall[] {
    return this.server.callsOf(operation);
  }

  failNext(operation: 'GetQueueUrl' | 'GetQueueAttributes' | '*', failure: Failure, times = 1): void {
    this.server.failNext(operation, failure, times);
  }

  /** Forgets recorded calls and planned failures, for a fresh test. */
  reset(): void {
    this.server.calls.length = 0;
    this.server.clearFailures();
  }

  queueUrl(name: string, account = DEFAULT_ACCOUNT): string {
    return `${this.server.url}/${account}/${name}`;
  }

  setQueue(name: string, counts: Partial<QueueCounts>, account = DEFAULT_ACCOUNT): string {
    this.queues.set(`${account}/${name}`, { visible: 0, inFlight: 0, delayed: 0, ...counts });
    return this.queueUrl(name, account);
  }

  deleteQueue(name: string, account = DEFAULT_ACCOUNT): void {
    this.queues.delete(`${account}/${name}`);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private getQueueUrl(body: Record<string, unknown>): unknown {
    const name = body.QueueName;
    if (typeof name !== 'string') throw new AwsJsonError(400, 'MissingParameter', 'QueueName is required');
    const account = typeof body.QueueOwnerAWSAccountId === 'string' ? body.QueueOwnerAWSAccountId : DEFAULT_ACCOUNT;
    if (!this.queues.has(`${account}/${name}`)) throw queueDoesNotExist();
    return { QueueUrl: this.queueUrl(name, account) };
  }

  private getQueueAttributes(body: Record<string, unknown>): unknown {
    const url = body.QueueUrl;
    if (typeof url !== 'string') throw new AwsJsonError(400, 'MissingParameter', 'QueueUrl is required');
    const key = new URL(url).pathname.slice(1);
    const counts = this.queues.get(key);
    if (!counts) throw queueDoesNotExist();
    const requested = Array.isArray(body.AttributeNames) ? (body.AttributeNames as string[]) : [];
    const names = requested.includes('All') ? Object.keys(ATTRIBUTE_OF) : requested;
    const attributes: Record<string, string> = {};
    for (const name of names) {
      const field = ATTRIBUTE_OF[name];
      if (!field) throw new AwsJsonError(400, 'InvalidAttributeName', `Unknown Attribute ${name}.`);
      attributes[name] = String(counts[field]);
    }
    return { Attributes: attributes };
  }
}
