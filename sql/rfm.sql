
-- rfm: recency, frequency and monetary scores (src/rfm.c)

CREATE TYPE @extschema@.rfm;

CREATE FUNCTION segment_internal.rfm_in(cstring) RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_out(@extschema@.rfm) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_recv(internal) RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_send(@extschema@.rfm) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.rfm (
	INPUT = segment_internal.rfm_in,
	OUTPUT = segment_internal.rfm_out,
	RECEIVE = segment_internal.rfm_recv,
	SEND = segment_internal.rfm_send,
	INTERNALLENGTH = 2,
	PASSEDBYVALUE,
	ALIGNMENT = int2
);
COMMENT ON TYPE @extschema@.rfm IS 'recency, frequency and monetary scores, written R-F-M such as 5-4-3';
COMMENT ON FUNCTION segment_internal.rfm_in(cstring) IS 'text input of rfm';
COMMENT ON FUNCTION segment_internal.rfm_out(@extschema@.rfm) IS 'text output of rfm';
COMMENT ON FUNCTION segment_internal.rfm_recv(internal) IS 'binary input of rfm';
COMMENT ON FUNCTION segment_internal.rfm_send(@extschema@.rfm) IS 'binary output of rfm';

CREATE FUNCTION @extschema@.make_rfm(recency integer, frequency integer, monetary integer) RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.make_rfm(integer, integer, integer) IS 'an rfm from three scores, each 1 to 9';

CREATE FUNCTION @extschema@.recency_score(@extschema@.rfm) RETURNS integer
	AS 'MODULE_PATHNAME', 'rfm_recency_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.recency_score(@extschema@.rfm) IS 'recency score R; the most recent customers score highest';
CREATE FUNCTION @extschema@.frequency_score(@extschema@.rfm) RETURNS integer
	AS 'MODULE_PATHNAME', 'rfm_frequency_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.frequency_score(@extschema@.rfm) IS 'frequency score F; the most orders score highest';
CREATE FUNCTION @extschema@.monetary_score(@extschema@.rfm) RETURNS integer
	AS 'MODULE_PATHNAME', 'rfm_monetary_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.monetary_score(@extschema@.rfm) IS 'monetary score M; the largest totals score highest';
CREATE FUNCTION @extschema@.rfm_cell(@extschema@.rfm) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_cell(@extschema@.rfm) IS 'three-digit cell code, 543 for 5-4-3';

-- ordering follows the cell code: recency, then frequency, then monetary
CREATE FUNCTION segment_internal.rfm_eq(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.rfm_ne(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.rfm_lt(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.rfm_le(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.rfm_gt(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.rfm_ge(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.rfm_cmp(@extschema@.rfm, @extschema@.rfm) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.rfm_hash(@extschema@.rfm) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION segment_internal.rfm_hash_extended(@extschema@.rfm, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION segment_internal.rfm_eq(@extschema@.rfm, @extschema@.rfm) IS 'implementation of = for rfm';
COMMENT ON FUNCTION segment_internal.rfm_ne(@extschema@.rfm, @extschema@.rfm) IS 'implementation of <> for rfm';
COMMENT ON FUNCTION segment_internal.rfm_lt(@extschema@.rfm, @extschema@.rfm) IS 'implementation of < for rfm';
COMMENT ON FUNCTION segment_internal.rfm_le(@extschema@.rfm, @extschema@.rfm) IS 'implementation of <= for rfm';
COMMENT ON FUNCTION segment_internal.rfm_gt(@extschema@.rfm, @extschema@.rfm) IS 'implementation of > for rfm';
COMMENT ON FUNCTION segment_internal.rfm_ge(@extschema@.rfm, @extschema@.rfm) IS 'implementation of >= for rfm';
COMMENT ON FUNCTION segment_internal.rfm_cmp(@extschema@.rfm, @extschema@.rfm) IS 'B-tree comparison of rfm';
COMMENT ON FUNCTION segment_internal.rfm_hash(@extschema@.rfm) IS 'hash of rfm';
COMMENT ON FUNCTION segment_internal.rfm_hash_extended(@extschema@.rfm, bigint) IS 'seeded hash of rfm';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = segment_internal.rfm_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = segment_internal.rfm_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);
CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = segment_internal.rfm_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = segment_internal.rfm_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = segment_internal.rfm_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = segment_internal.rfm_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);
COMMENT ON OPERATOR @extschema@.= (@extschema@.rfm, @extschema@.rfm) IS 'equal';
COMMENT ON OPERATOR @extschema@.<> (@extschema@.rfm, @extschema@.rfm) IS 'not equal';
COMMENT ON OPERATOR @extschema@.< (@extschema@.rfm, @extschema@.rfm) IS 'less than, by cell code';
COMMENT ON OPERATOR @extschema@.<= (@extschema@.rfm, @extschema@.rfm) IS 'less than or equal, by cell code';
COMMENT ON OPERATOR @extschema@.> (@extschema@.rfm, @extschema@.rfm) IS 'greater than, by cell code';
COMMENT ON OPERATOR @extschema@.>= (@extschema@.rfm, @extschema@.rfm) IS 'greater than or equal, by cell code';

CREATE FUNCTION segment_internal.rfm_smaller(@extschema@.rfm, @extschema@.rfm) RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_larger(@extschema@.rfm, @extschema@.rfm) RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.rfm_smaller(@extschema@.rfm, @extschema@.rfm) IS 'the smaller of two rfm values, by cell code';
COMMENT ON FUNCTION segment_internal.rfm_larger(@extschema@.rfm, @extschema@.rfm) IS 'the larger of two rfm values, by cell code';
CREATE AGGREGATE @extschema@.min(@extschema@.rfm) (
	SFUNC = segment_internal.rfm_smaller, STYPE = @extschema@.rfm,
	COMBINEFUNC = segment_internal.rfm_smaller, SORTOP = OPERATOR(@extschema@.<), PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.max(@extschema@.rfm) (
	SFUNC = segment_internal.rfm_larger, STYPE = @extschema@.rfm,
	COMBINEFUNC = segment_internal.rfm_larger, SORTOP = OPERATOR(@extschema@.>), PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.min(@extschema@.rfm) IS 'smallest rfm by cell code';
COMMENT ON AGGREGATE @extschema@.max(@extschema@.rfm) IS 'largest rfm by cell code';

CREATE OPERATOR CLASS @extschema@.rfm_ops DEFAULT FOR TYPE @extschema@.rfm USING btree AS
	OPERATOR 1 @extschema@.<,
	OPERATOR 2 @extschema@.<=,
	OPERATOR 3 @extschema@.=,
	OPERATOR 4 @extschema@.>=,
	OPERATOR 5 @extschema@.>,
	FUNCTION 1 segment_internal.rfm_cmp(@extschema@.rfm, @extschema@.rfm);
COMMENT ON OPERATOR CLASS @extschema@.rfm_ops USING btree IS 'B-tree ordering of rfm by cell code';

CREATE OPERATOR CLASS @extschema@.rfm_hash_ops DEFAULT FOR TYPE @extschema@.rfm USING hash AS
	OPERATOR 1 @extschema@.=,
	FUNCTION 1 segment_internal.rfm_hash(@extschema@.rfm),
	FUNCTION 2 segment_internal.rfm_hash_extended(@extschema@.rfm, bigint);
COMMENT ON OPERATOR CLASS @extschema@.rfm_hash_ops USING hash IS 'hashing of rfm';
COMMENT ON OPERATOR FAMILY @extschema@.rfm_ops USING btree IS 'B-tree ordering of rfm by cell code';
COMMENT ON OPERATOR FAMILY @extschema@.rfm_hash_ops USING hash IS 'hashing of rfm';
