import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';

export enum Role {
  ADMIN = 'ADMIN',
  RESEARCHER = 'RESEARCHER',
  VIEWER = 'VIEWER',
}
registerEnumType(Role, { name: 'Role', description: 'ADMIN manages users; RESEARCHER creates and runs; VIEWER reads.' });

@ObjectType()
export class User {
  @Field(() => ID) id!: string;
  @Field(() => String) email!: string;
  @Field(() => String) name!: string;
  @Field(() => Role) role!: Role;
  @Field(() => Date) createdAt!: Date;
}

@ObjectType({ description: 'A new API token. The secret is shown only here, once.' })
export class CreatedApiToken {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'Send as "Authorization: Bearer <secret>".' }) secret!: string;
  @Field(() => String) prefix!: string;
}

@InputType()
export class CreateUserInput {
  @Field(() => String) email!: string;
  @Field(() => String) name!: string;
  @Field(() => Role, { defaultValue: Role.RESEARCHER }) role!: Role;
}
