/**
 * Users and bearer API tokens. A token is `dsk_` + 32 random bytes (base64url); only its sha256
 * is stored, so a leaked database does not leak credentials. Every GraphQL operation and every
 * WebSocket connection presents one.
 */
import crypto from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput, notFound } from '../common/errors.js';
import type { AuthUser, RoleName } from './auth.types.js';

const TOKEN_PREFIX = 'dsk_';
const hashToken = (secret: string) => crypto.createHash('sha256').update(secret).digest('hex');

export class AuthService {
  constructor(private readonly prisma: PrismaClient) {}

  /** Resolves an `Authorization: Bearer …` header (or a bare token) to its user; null when absent. */
  async authenticate(header: string | undefined | null): Promise<AuthUser | null> {
    if (!header) return null;
    const secret = header.replace(/^Bearer\s+/i, '').trim();
    if (!secret.startsWith(TOKEN_PREFIX)) throw new AppError('UNAUTHENTICATED', 'The API token is malformed: expected "Authorization: Bearer dsk_…".');
    const token = await this.prisma.apiToken.findUnique({ where: { tokenHash: hashToken(secret) }, include: { user: true } });
    if (!token || token.revokedAt) throw new AppError('UNAUTHENTICATED', 'The API token is unknown or revoked; ask an admin for a new one.');
    // Coarse last-use tracking, without a write on every request.
    if (!token.lastUsedAt || Date.now() - token.lastUsedAt.getTime() > 60_000) {
      await this.prisma.apiToken.update({ where: { id: token.id }, data: { lastUsedAt: new Date() } });
    }
    return { id: token.user.id, email: token.user.email, role: token.user.role };
  }

  getUser(id: string) {
    return this.prisma.user.findUniqueOrThrow({ where: { id } });
  }

  listUsers() {
    return this.prisma.user.findMany({ orderBy: { createdAt: 'asc' } });
  }

  async createUser(email: string, name: string, role: RoleName) {
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw badInput('email', `"${email}" is not an e-mail address.`);
    const existing = await this.prisma.user.findUnique({ where: { email } });
    if (existing) throw new AppError('CONFLICT', `A user with e-mail ${email} already exists.`);
    return this.prisma.user.create({ data: { email, name, role } });
  }

  /** Returns the secret once; it cannot be recovered later. */
  async createToken(userId: string, name: string): Promise<{ secret: string; id: string; prefix: string }> {
    const user = await this.prisma.user.findUnique({ where: { id: userId } });
    if (!user) throw notFound('User', userId);
    const secret = TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
    const prefix = secret.slice(0, 10);
    const token = await this.prisma.apiToken.create({ data: { userId, name, tokenHash: hashToken(secret), prefix } });
    return { secret, id: token.id, prefix };
  }

  async revokeToken(actor: AuthUser, tokenId: string) {
    const token = await this.prisma.apiToken.findUnique({ where: { id: tokenId } });
    if (!token || (token.userId !== actor.id && actor.role !== 'ADMIN')) throw notFound('API token', tokenId);
    return this.prisma.apiToken.update({ where: { id: tokenId }, data: { revokedAt: new Date() } });
  }

  /** On the very first start, an admin so that someone can log in at all; null once any user exists. */
  async bootstrapIfNoUsers(email: string): Promise<string | null> {
    if ((await this.prisma.user.count()) > 0) return null;
    return (await this.bootstrapAdmin(email)).secret;
  }

  /** The first admin (command line: `npm run admin:create-token -- you@example.org`). Reuses the user if it exists. */
  async bootstrapAdmin(email: string): Promise<{ secret: string; userId: string }> {
    const user =
      (await this.prisma.user.findUnique({ where: { email } })) ??
      (await this.prisma.user.create({ data: { email, name: email.split('@')[0], role: 'ADMIN' } }));
    if (user.role !== 'ADMIN') await this.prisma.user.update({ where: { id: user.id }, data: { role: 'ADMIN' } });
    const { secret } = await this.createToken(user.id, 'bootstrap');
    return { secret, userId: user.id };
  }
}
