import { isPgError, PgError, type Pool } from "@lattice/kit";
import { EmailTakenError, type User, type UserPage, type UserRepository } from "./users.js";

interface Row {
  id: string;
  seq: string;
  email: string;
  display_name: string;
  create_time: Date;
  update_time: Date;
  version: number;
}

const COLUMNS = "id, seq, email, display_name, create_time, update_time, version";

/** Users in PostgreSQL (the service's own schema); uniqueness and versions are enforced by the database. */
export class PgUserRepository implements UserRepository {
  constructor(private readonly pool: Pool) {}

  async insert(user: User): Promise<void> {
    await this.write(() =>
      this.pool.query(
        `INSERT INTO users (id, email, display_name, create_time, update_time, version) VALUES ($1, $2, $3, $4, $5, $6)`,
        [user.id, user.email, user.displayName, user.createTime, user.updateTime, user.version],
      ),
    );
  }

  async get(id: string): Promise<User | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] && toUser(rows[0]);
  }

  async list(limit: number, after: number | undefined): Promise<UserPage> {
    // One row more than asked tells whether there is a next page.
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM users WHERE seq > $1 ORDER BY seq LIMIT $2`, [
      after ?? 0,
      limit + 1,
    ]);
    const page = rows.slice(0, limit);
    return { users: page.map(toUser), after: rows.length > limit ? Number(page[page.length - 1]!.seq) : undefined };
  }

  async update(user: User, expectedVersion: number): Promise<boolean> {
    const result = await this.write(() =>
      this.pool.query(
        `UPDATE users SET email = $2, display_name = $3, update_time = $4, version = $5 WHERE id = $1 AND version = $6`,
        [user.id, user.email, user.displayName, user.updateTime, user.version, expectedVersion],
      ),
    );
    return result.rowCount === 1;
  }

  async delete(id: string, expectedVersion: number | undefined): Promise<boolean> {
    const result = await this.pool.query(`DELETE FROM users WHERE id = $1 AND ($2::int IS NULL OR version = $2)`, [
      id,
      expectedVersion ?? null,
    ]);
    return result.rowCount === 1;
  }

  private async write<T>(query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      if (isPgError(error, PgError.UNIQUE_VIOLATION)) throw new EmailTakenError("email address in use");
      throw error;
    }
  }
}

function toUser(row: Row): User {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    createTime: row.create_time,
    updateTime: row.update_time,
    version: row.version,
  };
}
