import { randomUUID } from "node:crypto";
import { AlreadyExistsError, ConflictError, NotFoundError } from "@lattice/kit";
import { userName } from "./names.js";

/** A user as the business rules see it; the handler maps it to the contract. */
export interface User {
  readonly id: string;
  readonly email: string;
  readonly displayName: string;
  readonly createTime: Date;
  readonly updateTime: Date;
  readonly version: number;
}

export interface UserPage {
  readonly users: readonly User[];
  /** Where the next page starts; undefined on the last page. */
  readonly after: number | undefined;
}

/** Where users are kept. Implementations enforce email uniqueness and versions atomically. */
export interface UserRepository {
  /** Throws EmailTakenError when the email is in use. */
  insert(user: User): Promise<void>;
  get(id: string): Promise<User | undefined>;
  list(limit: number, after: number | undefined): Promise<UserPage>;
  /** Replaces the user if its stored version is `expectedVersion`; false if it is not (or the user is gone). */
  update(user: User, expectedVersion: number): Promise<boolean>;
  /** Deletes the user (only at `expectedVersion` when given); false when nothing matched. */
  delete(id: string, expectedVersion: number | undefined): Promise<boolean>;
}

export class EmailTakenError extends Error {}

export const PAGE_SIZE_DEFAULT = 50;

export interface UserChanges {
  email?: string;
  displayName?: string;
}

/**
 * The user service's rules, over any repository. The field rules (email and display name required and of bounded
 * length, an email address, page sizes, update masks) are declared in user.proto and enforced by the kit before a
 * request gets here; these are the rules that need the data: unique emails, versions.
 */
export class Users {
  constructor(
    private readonly repository: UserRepository,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(input: { email: string; displayName: string }): Promise<User> {
    const now = this.now();
    const user: User = {
      id: randomUUID(),
      email: input.email.trim(),
      displayName: input.displayName.trim(),
      createTime: now,
      updateTime: now,
      version: 1,
    };
    await this.insertOrExplain(user);
    return user;
  }

  async get(id: string): Promise<User> {
    const user = await this.repository.get(id);
    if (!user) throw new NotFoundError("user", userName.format(id));
    return user;
  }

  /** A page of `pageSize` users (0 means PAGE_SIZE_DEFAULT) after position `after`. */
  async list(pageSize: number, after: number | undefined): Promise<UserPage> {
    return this.repository.list(pageSize || PAGE_SIZE_DEFAULT, after);
  }

  /** Applies `changes`; with `expectedVersion`, fails with a conflict if the user changed since. */
  async update(id: string, changes: UserChanges, expectedVersion: number | undefined): Promise<User> {
    const current = await this.get(id);
    if (expectedVersion !== undefined && expectedVersion !== current.version) throw staleEtag(id);
    const updated: User = {
      ...current,
      email: changes.email?.trim() ?? current.email,
      displayName: changes.displayName?.trim() ?? current.displayName,
      updateTime: this.now(),
      version: current.version + 1,
    };
    // The write is conditional on the version read above: a concurrent update in between makes it fail.
    if (!(await this.updateOrExplain(updated, current.version))) throw staleEtag(id);
    return updated;
  }

  async delete(id: string, expectedVersion: number | undefined): Promise<void> {
    if (await this.repository.delete(id, expectedVersion)) return;
    if (expectedVersion !== undefined && (await this.repository.get(id))) throw staleEtag(id);
    throw new NotFoundError("user", userName.format(id));
  }

  private async insertOrExplain(user: User): Promise<void> {
    try {
      await this.repository.insert(user);
    } catch (error) {
      if (error instanceof EmailTakenError) throw new AlreadyExistsError("user", user.email, "email address in use");
      throw error;
    }
  }

  private async updateOrExplain(user: User, expectedVersion: number): Promise<boolean> {
    try {
      return await this.repository.update(user, expectedVersion);
    } catch (error) {
      if (error instanceof EmailTakenError) throw new AlreadyExistsError("user", user.email, "email address in use");
      throw error;
    }
  }
}

function staleEtag(id: string): ConflictError {
  return new ConflictError(`${userName.format(id)} was changed by someone else; read it again and retry`);
}
