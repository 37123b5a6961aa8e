import { Arg, Authorized, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { AuthUser } from '../auth/auth.types.js';
import { CurrentUser } from '../server/context.js';
import type { Services } from '../server/services.js';
import { CreateUserInput, CreatedApiToken, User } from '../schema/user.type.js';

@Resolver(() => User)
export class UserResolver {
  constructor(private readonly services: Services) {}

  @Authorized()
  @Query(() => User, { description: 'The user the API token belongs to.' })
  me(@CurrentUser() user: AuthUser) {
    return this.services.auth.getUser(user.id);
  }

  @Authorized('ADMIN')
  @Query(() => [User])
  users() {
    return this.services.auth.listUsers();
  }

  @Authorized('ADMIN')
  @Mutation(() => User)
  createUser(@Arg('input', () => CreateUserInput) input: CreateUserInput) {
    return this.services.auth.createUser(input.email, input.name, input.role);
  }

  @Authorized('ADMIN')
  @Mutation(() => CreatedApiToken, { description: 'A token for any user (admins hand these out).' })
  createApiToken(@Arg('userId', () => ID) userId: string, @Arg('name', () => String) name: string) {
    return this.services.auth.createToken(userId, name);
  }

  @Authorized()
  @Mutation(() => Boolean)
  async revokeApiToken(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    await this.services.auth.revokeToken(user, id);
    return true;
  }
}
