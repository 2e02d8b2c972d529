
-- segment_set: the set of segment labels of one customer (src/segment_set.c, src/segment_set_gin.c)

CREATE TYPE @extschema@.segment_set;

CREATE FUNCTION segment_internal.segment_set_in(cstring) RETURNS @extschema@.segment_set
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_out(@extschema@.segment_set) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_recv(internal) RETURNS @extschema@.segment_set
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_send(@extschema@.segment_set) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.segment_set (
	INPUT = segment_internal.segment_set_in,
	OUTPUT = segment_internal.segment_set_out,
	RECEIVE = segment_internal.segment_set_recv,
	SEND = segment_internal.segment_set_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.segment_set IS
	'a set of segment labels, written {"Can''t Lose Them",champions,vip}; labels are case-sensitive, 1 to 255 bytes, at most 1000';
COMMENT ON FUNCTION segment_internal.segment_set_in(cstring) IS 'text input of segment_set';
COMMENT ON FUNCTION segment_internal.segment_set_out(@extschema@.segment_set) IS 'text output of segment_set, labels sorted bytewise';
COMMENT ON FUNCTION segment_internal.segment_set_recv(internal) IS 'binary input of segment_set';
COMMENT ON FUNCTION segment_internal.segment_set_send(@extschema@.segment_set) IS 'binary output of segment_set';

-- constructors and accessors
CREATE FUNCTION @extschema@.segment_set(labels text[]) RETURNS @extschema@.segment_set
	AS 'MODULE_PATHNAME', 'segment_set_from_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_set(text[]) IS
	'the set of the labels of an array; duplicates removed, NULL labels an error';
CREATE FUNCTION @extschema@.segment_set_labels(@extschema@.segment_set) RETURNS text[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_set_labels(@extschema@.segment_set) IS 'the labels, sorted bytewise';
CREATE FUNCTION @extschema@.segment_set_count(@extschema@.segment_set) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_set_count(@extschema@.segment_set) IS 'number of labels';

CREATE CAST (text[] AS @extschema@.segment_set)
	WITH FUNCTION @extschema@.segment_set(text[]) AS ASSIGNMENT;
COMMENT ON CAST (text[] AS @extschema@.segment_set) IS 'the set of the labels of an array';
CREATE CAST (@extschema@.segment_set AS text[])
	WITH FUNCTION @extschema@.segment_set_labels(@extschema@.segment_set) AS ASSIGNMENT;
COMMENT ON CAST (@extschema@.segment_set AS text[]) IS 'the labels, sorted bytewise';

-- set operations
CREATE FUNCTION @extschema@.segment_set_has(@extschema@.segment_set, label text) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_add(@extschema@.segment_set, label text) RETURNS @extschema@.segment_set
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_remove(@extschema@.segment_set, label text) RETURNS @extschema@.segment_set
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_union(@extschema@.segment_set, @extschema@.segment_set) RETURNS @extschema@.segment_set
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_intersect(@extschema@.segment_set, @extschema@.segment_set) RETURNS @extschema@.segment_set
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_contains(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_contained(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_overlaps(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_set_has(@extschema@.segment_set, text) IS
	'does the set hold the label? (exact bytes, case-sensitive); the ? operator';
COMMENT ON FUNCTION @extschema@.segment_set_add(@extschema@.segment_set, text) IS 'the set with the label added; the + operator';
COMMENT ON FUNCTION @extschema@.segment_set_remove(@extschema@.segment_set, text) IS 'the set without the label; the - operator';
COMMENT ON FUNCTION @extschema@.segment_set_union(@extschema@.segment_set, @extschema@.segment_set) IS 'union; the | operator';
COMMENT ON FUNCTION @extschema@.segment_set_intersect(@extschema@.segment_set, @extschema@.segment_set) IS 'intersection; the & operator';
COMMENT ON FUNCTION segment_internal.segment_set_contains(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of @> for segment_set';
COMMENT ON FUNCTION segment_internal.segment_set_contained(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of <@ for segment_set';
COMMENT ON FUNCTION segment_internal.segment_set_overlaps(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of && for segment_set';

CREATE OPERATOR @extschema@.? (
	LEFTARG = @extschema@.segment_set, RIGHTARG = text, FUNCTION = @extschema@.segment_set_has,
	RESTRICT = pg_catalog.matchingsel, JOIN = pg_catalog.matchingjoinsel
);
CREATE OPERATOR @extschema@.+ (
	LEFTARG = @extschema@.segment_set, RIGHTARG = text, FUNCTION = @extschema@.segment_set_add
);
CREATE OPERATOR @extschema@.- (
	LEFTARG = @extschema@.segment_set, RIGHTARG = text, FUNCTION = @extschema@.segment_set_remove
);
CREATE OPERATOR @extschema@.| (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = @extschema@.segment_set_union,
	COMMUTATOR = OPERATOR(@extschema@.|)
);
CREATE OPERATOR @extschema@.& (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = @extschema@.segment_set_intersect,
	COMMUTATOR = OPERATOR(@extschema@.&)
);
CREATE OPERATOR @extschema@.@> (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = segment_internal.segment_set_contains,
	COMMUTATOR = OPERATOR(@extschema@.<@),
	RESTRICT = pg_catalog.matchingsel, JOIN = pg_catalog.matchingjoinsel
);
CREATE OPERATOR @extschema@.<@ (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = segment_internal.segment_set_contained,
	COMMUTATOR = OPERATOR(@extschema@.@>),
	RESTRICT = pg_catalog.matchingsel, JOIN = pg_catalog.matchingjoinsel
);
CREATE OPERATOR @extschema@.&& (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = segment_internal.segment_set_overlaps,
	COMMUTATOR = OPERATOR(@extschema@.&&),
	RESTRICT = pg_catalog.matchingsel, JOIN = pg_catalog.matchingjoinsel
);
COMMENT ON OPERATOR @extschema@.? (@extschema@.segment_set, text) IS 'holds the label';
COMMENT ON OPERATOR @extschema@.+ (@extschema@.segment_set, text) IS 'add a label';
COMMENT ON OPERATOR @extschema@.- (@extschema@.segment_set, text) IS 'remove a label';
COMMENT ON OPERATOR @extschema@.| (@extschema@.segment_set, @extschema@.segment_set) IS 'union';
COMMENT ON OPERATOR @extschema@.& (@extschema@.segment_set, @extschema@.segment_set) IS 'intersection';
COMMENT ON OPERATOR @extschema@.@> (@extschema@.segment_set, @extschema@.segment_set) IS 'contains';
COMMENT ON OPERATOR @extschema@.<@ (@extschema@.segment_set, @extschema@.segment_set) IS 'is contained by';
COMMENT ON OPERATOR @extschema@.&& (@extschema@.segment_set, @extschema@.segment_set) IS 'overlaps: at least one label in common';

-- equality, hashing and the order: lexicographic over the sorted labels,
-- as text[] with COLLATE "C" ({} < {a} < {a,b} < {b})
CREATE FUNCTION segment_internal.segment_set_eq(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.segment_set_ne(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.segment_set_lt(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.segment_set_le(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.segment_set_gt(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.segment_set_ge(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.segment_set_cmp(@extschema@.segment_set, @extschema@.segment_set) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.segment_set_hash(@extschema@.segment_set) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.segment_set_hash_extended(@extschema@.segment_set, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION segment_internal.segment_set_eq(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of = for segment_set';
COMMENT ON FUNCTION segment_internal.segment_set_ne(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of <> for segment_set';
COMMENT ON FUNCTION segment_internal.segment_set_lt(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of < for segment_set';
COMMENT ON FUNCTION segment_internal.segment_set_le(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of <= for segment_set';
COMMENT ON FUNCTION segment_internal.segment_set_gt(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of > for segment_set';
COMMENT ON FUNCTION segment_internal.segment_set_ge(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of >= for segment_set';
COMMENT ON FUNCTION segment_internal.segment_set_cmp(@extschema@.segment_set, @extschema@.segment_set) IS
	'B-tree comparison of segment_set: lexicographic over the sorted labels';
COMMENT ON FUNCTION segment_internal.segment_set_hash(@extschema@.segment_set) IS 'hash of segment_set';
COMMENT ON FUNCTION segment_internal.segment_set_hash_extended(@extschema@.segment_set, bigint) IS 'seeded hash of segment_set';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = segment_internal.segment_set_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = segment_internal.segment_set_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);
CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = segment_internal.segment_set_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = segment_internal.segment_set_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = segment_internal.segment_set_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = segment_internal.segment_set_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);
COMMENT ON OPERATOR @extschema@.= (@extschema@.segment_set, @extschema@.segment_set) IS 'equal: the same labels';
COMMENT ON OPERATOR @extschema@.<> (@extschema@.segment_set, @extschema@.segment_set) IS 'not equal';
COMMENT ON OPERATOR @extschema@.< (@extschema@.segment_set, @extschema@.segment_set) IS 'less than, lexicographic over the sorted labels';
COMMENT ON OPERATOR @extschema@.<= (@extschema@.segment_set, @extschema@.segment_set) IS 'less than or equal, lexicographic over the sorted labels';
COMMENT ON OPERATOR @extschema@.> (@extschema@.segment_set, @extschema@.segment_set) IS 'greater than, lexicographic over the sorted labels';
COMMENT ON OPERATOR @extschema@.>= (@extschema@.segment_set, @extschema@.segment_set) IS 'greater than or equal, lexicographic over the sorted labels';

CREATE OPERATOR CLASS @extschema@.segment_set_btree_ops DEFAULT FOR TYPE @extschema@.segment_set USING btree AS
	OPERATOR 1 @extschema@.<,
	OPERATOR 2 @extschema@.<=,
	OPERATOR 3 @extschema@.=,
	OPERATOR 4 @extschema@.>=,
	OPERATOR 5 @extschema@.>,
	FUNCTION 1 segment_internal.segment_set_cmp(@extschema@.segment_set, @extschema@.segment_set);
COMMENT ON OPERATOR CLASS @extschema@.segment_set_btree_ops USING btree IS
	'B-tree ordering of segment_set, lexicographic over the sorted labels';
COMMENT ON OPERATOR FAMILY @extschema@.segment_set_btree_ops USING btree IS
	'B-tree ordering of segment_set, lexicographic over the sorted labels';

CREATE OPERATOR CLASS @extschema@.segment_set_hash_ops DEFAULT FOR TYPE @extschema@.segment_set USING hash AS
	OPERATOR 1 @extschema@.=,
	FUNCTION 1 segment_internal.segment_set_hash(@extschema@.segment_set),
	FUNCTION 2 segment_internal.segment_set_hash_extended(@extschema@.segment_set, bigint);
COMMENT ON OPERATOR CLASS @extschema@.segment_set_hash_ops USING hash IS 'hashing of segment_set';
COMMENT ON OPERATOR FAMILY @extschema@.segment_set_hash_ops USING hash IS 'hashing of segment_set';

-- GIN: keys are 32-bit hashes of the labels, matches are rechecked
CREATE FUNCTION segment_internal.segment_set_gin_extract_value(@extschema@.segment_set, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_gin_extract_query(@extschema@.segment_set, internal, smallint, internal, internal, internal, internal)
	RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_gin_consistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal, internal)
	RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_gin_triconsistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal)
	RETURNS "char"
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.segment_set_gin_extract_value(@extschema@.segment_set, internal) IS
	'GIN support: the keys of a segment_set, hashes of its labels';
COMMENT ON FUNCTION segment_internal.segment_set_gin_extract_query(@extschema@.segment_set, internal, smallint, internal, internal, internal, internal) IS
	'GIN support: the keys of a query';
COMMENT ON FUNCTION segment_internal.segment_set_gin_consistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal, internal) IS
	'GIN support: may an indexed segment_set match the query';
COMMENT ON FUNCTION segment_internal.segment_set_gin_triconsistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal) IS
	'GIN support: may an indexed segment_set match the query, some keys unknown';

CREATE OPERATOR CLASS @extschema@.segment_set_ops DEFAULT FOR TYPE @extschema@.segment_set USING gin AS
	OPERATOR 1 @extschema@.&& (@extschema@.segment_set, @extschema@.segment_set),
	OPERATOR 2 @extschema@.@> (@extschema@.segment_set, @extschema@.segment_set),
	OPERATOR 3 @extschema@.<@ (@extschema@.segment_set, @extschema@.segment_set),
	OPERATOR 4 @extschema@.= (@extschema@.segment_set, @extschema@.segment_set),
	OPERATOR 5 @extschema@.? (@extschema@.segment_set, text),
	FUNCTION 1 pg_catalog.btint4cmp(integer, integer),
	FUNCTION 2 segment_internal.segment_set_gin_extract_value(@extschema@.segment_set, internal),
	FUNCTION 3 segment_internal.segment_set_gin_extract_query(@extschema@.segment_set, internal, smallint, internal, internal, internal, internal),
	FUNCTION 4 segment_internal.segment_set_gin_consistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal, internal),
	FUNCTION 6 segment_internal.segment_set_gin_triconsistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal),
	STORAGE integer;
COMMENT ON OPERATOR CLASS @extschema@.segment_set_ops USING gin IS
	'GIN indexing of segment_set for &&, @>, <@, = and ?; keys are 32-bit hashes of the labels';
COMMENT ON OPERATOR FAMILY @extschema@.segment_set_ops USING gin IS
	'GIN indexing of segment_set for &&, @>, <@, = and ?; keys are 32-bit hashes of the labels';

-- segment_set_agg(text): the labels of a group as a set
CREATE FUNCTION segment_internal.segment_set_agg_transfn(internal, text) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_agg_combinefn(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_agg_serializefn(internal) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_agg_deserializefn(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.segment_set_agg_finalfn(internal) RETURNS @extschema@.segment_set
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.segment_set_agg_transfn(internal, text) IS 'segment_set_agg: adds a label';
COMMENT ON FUNCTION segment_internal.segment_set_agg_combinefn(internal, internal) IS 'segment_set_agg: merges partial states';
COMMENT ON FUNCTION segment_internal.segment_set_agg_serializefn(internal) IS 'segment_set_agg: state to bytes';
COMMENT ON FUNCTION segment_internal.segment_set_agg_deserializefn(bytea, internal) IS 'segment_set_agg: state from bytes';
COMMENT ON FUNCTION segment_internal.segment_set_agg_finalfn(internal) IS 'segment_set_agg: the set';

CREATE AGGREGATE @extschema@.segment_set_agg(text) (
	SFUNC = segment_internal.segment_set_agg_transfn, STYPE = internal,
	FINALFUNC = segment_internal.segment_set_agg_finalfn,
	COMBINEFUNC = segment_internal.segment_set_agg_combinefn,
	SERIALFUNC = segment_internal.segment_set_agg_serializefn,
	DESERIALFUNC = segment_internal.segment_set_agg_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.segment_set_agg(text) IS
	'the set of the labels of a group; NULL labels are skipped, no labels give NULL';
