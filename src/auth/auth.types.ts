export type RoleName = 'ADMIN' | 'RESEARCHER' | 'VIEWER';

export interface AuthUser {
  id: string;
  email: string;
  role: RoleName;
}

/** What a role may do beyond reading what it can see. */
export const canWrite = (user: AuthUser) => user.role !== 'VIEWER';
