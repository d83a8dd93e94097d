"""Which secondary keys the copy defers until after the load (pure text; the copy tests cover the DB side)."""

from __future__ import annotations

from dirac_core.dbmigrate.deferred_indexes import index_name, split_create

FILES = """CREATE TABLE `FC_Files` (
  `FileID` int(11) NOT NULL AUTO_INCREMENT,
  `DirID` int(11) NOT NULL,
  `Name` varchar(20) NOT NULL,
  `Body` text,
  PRIMARY KEY (`FileID`),
  UNIQUE KEY `DirID` (`DirID`,`Name`),
  KEY `odd``name` (`Name`),
  FULLTEXT KEY `ft` (`Body`)
) ENGINE=InnoDB"""


def test_plain_and_unique_keys_are_deferred_fulltext_stays() -> None:
    create, clauses = split_create(FILES)
    assert clauses == ["UNIQUE KEY `DirID` (`DirID`,`Name`)", "KEY `odd``name` (`Name`)"]
    assert [index_name(c) for c in clauses] == ["DirID", "odd`name"]
    assert "  PRIMARY KEY (`FileID`),\n  FULLTEXT KEY `ft` (`Body`)\n) ENGINE=InnoDB" in create


def test_last_definition_loses_its_comma() -> None:
    create, _ = split_create(FILES.replace(",\n  FULLTEXT KEY `ft` (`Body`)", ""))
    assert create.endswith("  PRIMARY KEY (`FileID`)\n) ENGINE=InnoDB")


def test_tables_without_primary_key_or_with_foreign_keys_keep_their_keys() -> None:
    no_pk = "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  UNIQUE KEY `a` (`a`)\n) ENGINE=InnoDB"
    assert split_create(no_pk) == (no_pk, [])
    fk = FILES.replace("  FULLTEXT KEY `ft` (`Body`)", "  CONSTRAINT `f` FOREIGN KEY (`DirID`) REFERENCES `d` (`id`)")
    assert split_create(fk) == (fk, [])
