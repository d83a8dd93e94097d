"""A source schema that exercises everything `copy` must handle, and an independent checksum."""

from __future__ import annotations

import random
from typing import Any

SAMPLE_DDL = [
    # child sorts before parent: its foreign key points at a table created later.
    """CREATE TABLE child (
        id BIGINT NOT NULL PRIMARY KEY,
        parent_id INT NOT NULL,
        payload MEDIUMBLOB,
        CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE
    ) ENGINE=InnoDB""",
    """CREATE TABLE parent (
        id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
        note TEXT NULL,
        data BLOB NULL,
        price DECIMAL(12,2) NULL,
        ratio DOUBLE NULL,
        flags BIT(5) NULL,
        created TIMESTAMP NULL,
        day DATE NULL,
        kind ENUM('a','b','c') NULL,
        total DECIMAL(14,2) AS (price * 10) STORED,
        shout VARCHAR(64) AS (UPPER(name)) VIRTUAL,
        KEY idx_name (name)
    ) ENGINE=InnoDB AUTO_INCREMENT=5000""",
    "CREATE TABLE nopk (a INT NULL, b VARCHAR(20) NULL, c TEXT NULL) ENGINE=InnoDB",
    """CREATE TABLE strkey (
        code VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY,
        val INT NULL
    ) ENGINE=InnoDB""",
    "CREATE TABLE compkey (a INT NOT NULL, b INT NOT NULL, v VARCHAR(10), PRIMARY KEY (a, b)) ENGINE=InnoDB",
    "CREATE TABLE counters (name VARCHAR(20) NOT NULL PRIMARY KEY, n INT NOT NULL DEFAULT 0) ENGINE=InnoDB",
    "CREATE SEQUENCE ticket_seq START WITH 1000 INCREMENT BY 10",
    "CREATE TABLE tickets (id INT NOT NULL DEFAULT NEXT VALUE FOR ticket_seq PRIMARY KEY, note VARCHAR(20))",
    "CREATE VIEW v_parent AS SELECT id, name, total FROM parent WHERE price IS NOT NULL",
    "CREATE VIEW v_parent_big AS SELECT id, name FROM v_parent WHERE total > 100",
    "CREATE FUNCTION f_double(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
    """CREATE PROCEDURE p_count(OUT n INT)
       BEGIN
         SELECT COUNT(*) INTO n FROM parent;
       END""",
    """CREATE TRIGGER t_child_ins AFTER INSERT ON child FOR EACH ROW
       INSERT INTO counters (name, n) VALUES ('child', 1) ON DUPLICATE KEY UPDATE n = n + 1""",
    "CREATE EVENT e_nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM counters WHERE n < 0",
]

NAMES = ["alpha", "Bêta", "gamma 😀", "δέλτα", "tab\there", "new\nline", "back\\slash", "\\N", "", "quote'\""]


def populate(conn: Any, parents: int = 300, seed: int = 5) -> None:
    rnd = random.Random(seed)
    cur = conn.cursor()
    cur.execute("SET FOREIGN_KEY_CHECKS = 0")
    for ddl in SAMPLE_DDL:
        cur.execute(ddl)
    cur.execute("SET FOREIGN_KEY_CHECKS = 1")
    rows = []
    for i in range(parents):
        pid = 1 + i * 3  # gaps in the key
        rows.append(
            (
                pid,
                f"{rnd.choice(NAMES)}-{i}",
                None if i % 7 == 0 else rnd.choice(NAMES) * rnd.randint(0, 50),
                None if i % 5 == 0 else bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 300))),
                None if i % 4 == 0 else f"{rnd.randint(0, 10**8)}.{rnd.randint(0, 99):02d}",
                None if i % 6 == 0 else rnd.random() * 10 ** rnd.randint(-5, 5),
                None if i % 3 == 0 else rnd.randint(0, 31),
                None if i % 8 == 0 else f"2024-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)} 12:34:56",
                None if i % 9 == 0 else "2023-12-31",
                rnd.choice([None, "a", "b", "c"]),
            )
        )
    cur.executemany(
        "INSERT INTO parent (id, name, note, data, price, ratio, flags, created, day, kind) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        rows,
    )
    cur.executemany(
        "INSERT INTO child (id, parent_id, payload) VALUES (%s, %s, %s)",
        [
            (10_000_000_000 + i, 1 + (i % parents) * 3, None if i % 4 == 0 else bytes([i % 256]) * (i % 2000))
            for i in range(parents * 2)
        ],
    )
    cur.executemany(
        "INSERT INTO nopk (a, b, c) VALUES (%s, %s, %s)",
        [(i % 10, None if i % 3 else f"b{i % 4}", rnd.choice(NAMES)) for i in range(120)],  # duplicates on purpose
    )
    cur.executemany(
        "INSERT INTO strkey (code, val) VALUES (%s, %s)",
        [(f"{rnd.choice(['K', 'k', 'é', 'z'])}{i:05d}", None if i % 2 else i) for i in range(200)],
    )
    cur.executemany(
        "INSERT INTO compkey (a, b, v) VALUES (%s, %s, %s)", [(i // 10, i % 10, f"v{i}") for i in range(250)]
    )
    cur.executemany("INSERT INTO tickets (note) VALUES (%s)", [(f"t{i}",) for i in range(5)])
    conn.commit()


def independent_checksums(conn: Any, db: str) -> dict[str, tuple[int, int]]:
    """pt-table-checksum style, written independently of the engine: CRC32 over '|'-joined columns + NULL map."""
    cur = conn.cursor()
    cur.execute(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'", (db,)
    )
    out: dict[str, tuple[int, int]] = {}
    for (table,) in cur.fetchall():
        table = table.decode() if isinstance(table, bytes) else table
        cur.execute(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
            "ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        cols = [c[0].decode() if isinstance(c[0], bytes) else c[0] for c in cur.fetchall()]
        values = ", ".join(f"`{c}`" for c in cols)
        nulls = ", ".join(f"ISNULL(`{c}`)" for c in cols)
        cur.execute(
            f"SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', {values}, {nulls}))), 0) FROM `{db}`.`{table}`"
        )
        count, crc = cur.fetchone()
        out[table] = (int(count), int(crc))
    return out
