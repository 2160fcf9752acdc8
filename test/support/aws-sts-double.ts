import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * STS as the SDK's fromTemporaryCredentials and web-identity (IRSA) providers talk to it (AWS
 * Query protocol: a form-encoded POST, an XML answer; AssumeRole and AssumeRoleWithWebIdentity),
 * for what moto cannot show: when credentials expire and are renewed, an STS that hangs.
 * Each AssumeRole hands out a new access key `ASIATEST<n>` that expires `lifetimeMs` from now.
 */
export interface AssumeRoleCall {
  roleArn: string;
  externalId?: string;
  sessionName: string;
  durationSeconds?: number;
  /** AssumeRoleWithWebIdentity (IRSA) only: the token it was given. */
  webIdentityToken?: string;
  accessKeyId: string;
}

export class StsDouble {
  readonly calls: AssumeRoleCall[] = [];
  lifetimeMs = 3_600_000;
  /** When set, AssumeRole answers 403 AccessDenied with this message. */
  deny: string | undefined;
  /** When set, requests are taken and never answered (until close). */
  hang = false;
  private server: http.Server | undefined;

  static async start(): Promise<StsDouble> {
    const double = new StsDouble();
    double.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => double.answer(new URLSearchParams(Buffer.concat(chunks).toString('utf8')), res));
    });
    await new Promise<void>((resolve) => double.server?.listen(0, '127.0.0.1', resolve));
    return double;
  }

  get url(): string {
    const { port } = (this.server?.address() ?? { port: 0 }) as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private answer(form: URLSearchParams, res: http.ServerResponse): void {
    if (this.hang) return;
    const action = form.get('Action');
    if (action !== 'AssumeRole' && action !== 'AssumeRoleWithWebIdentity') {
      res
        .writeHead(400, { 'content-type': 'text/xml' })
        .end(error('InvalidAction', `not served: ${form.get('Action')}`));
      return;
    }
    if (this.deny !== undefined) {
      res.writeHead(403, { 'content-type': 'text/xml' }).end(error('AccessDenied', this.deny));
      return;
    }
    const accessKeyId = `ASIATEST${this.calls.length + 1}`;
    const call: AssumeRoleCall = {
      roleArn: form.get('RoleArn') ?? '',
      sessionName: form.get('RoleSessionName') ?? '',
      accessKeyId,
    };
    const externalId = form.get('ExternalId');
    if (externalId !== null) call.externalId = externalId;
    const webIdentityToken = form.get('WebIdentityToken');
    if (webIdentityToken !== null) call.webIdentityToken = webIdentityToken;
    const duration = form.get('DurationSeconds');
    if (duration !== null) call.durationSeconds = Number(duration);
    this.calls.push(call);
    const expiration = new Date(Date.now() + this.lifetimeMs).toISOString();
    res
      .writeHead(200, { 'content-type': 'text/xml' })
      .end(
        `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>` +
          `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>` +
          `<SessionToken>token-${accessKeyId}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
          `<AssumedRoleUser><Arn>${call.roleArn}/${call.sessionName}</Arn><AssumedRoleId>AROATEST:${call.sessionName}</AssumedRoleId></AssumedRoleUser>` +
          `</${action}Result><ResponseMetadata><RequestId>req-${this.calls.length}</RequestId></ResponseMetadata></${action}Response>`,
      );
  }
}

function error(code: string, message: string): string {
  return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>err</RequestId></ErrorResponse>`;
}
