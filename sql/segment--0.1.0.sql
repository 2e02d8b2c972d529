-- segment 0.1.0: the install script as released, kept unchanged so that
-- CREATE EXTENSION segment VERSION '0.1.0' and the update path from it work.

\echo Use "CREATE EXTENSION segment" to load this file. \quit

-- rfm_stats: a customer's purchase behaviour (src/rfm_stats.c, src/rfm_stats_agg.c)

CREATE TYPE @extschema@.rfm_stats;

CREATE FUNCTION @extschema@.rfm_stats_in(cstring) RETURNS @extschema@.rfm_stats
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_stats_out(@extschema@.rfm_stats) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_stats_recv(internal) RETURNS @extschema@.rfm_stats
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_stats_send(@extschema@.rfm_stats) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.rfm_stats (
	INPUT = @extschema@.rfm_stats_in,
	OUTPUT = @extschema@.rfm_stats_out,
	RECEIVE = @extschema@.rfm_stats_recv,
	SEND = @extschema@.rfm_stats_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double
);
COMMENT ON TYPE @extschema@.rfm_stats IS
	'a customer''s orders: count, first, second latest and latest order time, exact total amount';
COMMENT ON FUNCTION @extschema@.rfm_stats_in(cstring) IS 'text input of rfm_stats';
COMMENT ON FUNCTION @extschema@.rfm_stats_out(@extschema@.rfm_stats) IS 'text output of rfm_stats, times in UTC';
COMMENT ON FUNCTION @extschema@.rfm_stats_recv(internal) IS 'binary input of rfm_stats';
COMMENT ON FUNCTION @extschema@.rfm_stats_send(@extschema@.rfm_stats) IS 'binary output of rfm_stats';

CREATE FUNCTION @extschema@.order_count(@extschema@.rfm_stats) RETURNS bigint
	AS 'MODULE_PATHNAME', 'rfm_stats_order_count' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.order_count(@extschema@.rfm_stats) IS 'number of orders (frequency)';

CREATE FUNCTION @extschema@.first_order_time(@extschema@.rfm_stats) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'rfm_stats_first_order_time' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.first_order_time(@extschema@.rfm_stats) IS 'time of the first order';

CREATE FUNCTION @extschema@.previous_order_time(@extschema@.rfm_stats) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'rfm_stats_previous_order_time' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.previous_order_time(@extschema@.rfm_stats) IS
	'time of the order before the last one; NULL for a customer with one order';

CREATE FUNCTION @extschema@.last_order_time(@extschema@.rfm_stats) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'rfm_stats_last_order_time' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.last_order_time(@extschema@.rfm_stats) IS 'time of the last order';

CREATE FUNCTION @extschema@.total_amount(@extschema@.rfm_stats) RETURNS numeric
	AS 'MODULE_PATHNAME', 'rfm_stats_total_amount' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.total_amount(@extschema@.rfm_stats) IS
	'exact sum of the order amounts (monetary), refunds included';

CREATE FUNCTION @extschema@.mean_days_between_orders(@extschema@.rfm_stats) RETURNS double precision
	AS 'MODULE_PATHNAME', 'rfm_stats_mean_days_between_orders' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mean_days_between_orders(@extschema@.rfm_stats) IS
	'the customer''s rhythm: days from first to last order over the number of gaps; NULL for one order';

CREATE FUNCTION @extschema@.days_before_last_order(@extschema@.rfm_stats) RETURNS double precision
	AS 'MODULE_PATHNAME', 'rfm_stats_days_before_last_order' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.days_before_last_order(@extschema@.rfm_stats) IS
	'days between the last order and the one before it; NULL for one order';

CREATE FUNCTION @extschema@.recency_days(@extschema@.rfm_stats, as_of timestamptz) RETURNS double precision
	AS 'MODULE_PATHNAME', 'rfm_stats_recency_days' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.recency_days(@extschema@.rfm_stats, timestamptz) IS
	'days from the last order to as_of (recency); an error if the last order is after as_of';

-- the aggregates' shared transition state
CREATE FUNCTION @extschema@.rfm_stats_transfn(internal, timestamptz, numeric) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_stats_merge_transfn(internal, @extschema@.rfm_stats) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_stats_combinefn(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_stats_serializefn(internal) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_stats_deserializefn(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_stats_finalfn(internal) RETURNS @extschema@.rfm_stats
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_stats_transfn(internal, timestamptz, numeric) IS 'rfm_stats aggregate: adds an order';
COMMENT ON FUNCTION @extschema@.rfm_stats_merge_transfn(internal, @extschema@.rfm_stats) IS 'rfm_stats_merge aggregate: adds stored statistics';
COMMENT ON FUNCTION @extschema@.rfm_stats_combinefn(internal, internal) IS 'rfm_stats aggregates: combines partial states';
COMMENT ON FUNCTION @extschema@.rfm_stats_serializefn(internal) IS 'rfm_stats aggregates: serializes a partial state';
COMMENT ON FUNCTION @extschema@.rfm_stats_deserializefn(bytea, internal) IS 'rfm_stats aggregates: reads a serialized partial state';
COMMENT ON FUNCTION @extschema@.rfm_stats_finalfn(internal) IS 'rfm_stats aggregates: the rfm_stats value of a state';

CREATE AGGREGATE @extschema@.rfm_stats(order_time timestamptz, amount numeric) (
	SFUNC = @extschema@.rfm_stats_transfn,
	STYPE = internal,
	SSPACE = 96,
	FINALFUNC = @extschema@.rfm_stats_finalfn,
	COMBINEFUNC = @extschema@.rfm_stats_combinefn,
	SERIALFUNC = @extschema@.rfm_stats_serializefn,
	DESERIALFUNC = @extschema@.rfm_stats_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_stats(timestamptz, numeric) IS
	'a customer''s rfm_stats from its orders; rows with a NULL time are skipped, NULL amounts add nothing';

CREATE AGGREGATE @extschema@.rfm_stats_merge(stats @extschema@.rfm_stats) (
	SFUNC = @extschema@.rfm_stats_merge_transfn,
	STYPE = internal,
	SSPACE = 96,
	FINALFUNC = @extschema@.rfm_stats_finalfn,
	COMBINEFUNC = @extschema@.rfm_stats_combinefn,
	SERIALFUNC = @extschema@.rfm_stats_serializefn,
	DESERIALFUNC = @extschema@.rfm_stats_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_stats_merge(@extschema@.rfm_stats) IS
	'merges rfm_stats of the same customer (per partition, shard or period) into one';

CREATE FUNCTION @extschema@.rfm_stats_of_order(order_time timestamptz, amount numeric) RETURNS @extschema@.rfm_stats
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_stats_of_order(timestamptz, numeric) IS
	'the rfm_stats of a single order, as the aggregate gives for one row; NULL for a NULL time';

CREATE FUNCTION @extschema@.rfm_stats_combine(a @extschema@.rfm_stats, b @extschema@.rfm_stats) RETURNS @extschema@.rfm_stats
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_stats_combine(@extschema@.rfm_stats, @extschema@.rfm_stats) IS
	'the rfm_stats of the orders of both values, as rfm_stats_merge gives for two; a NULL is no orders';

-- rfm: recency, frequency and monetary scores (src/rfm.c)

CREATE TYPE @extschema@.rfm;

CREATE FUNCTION @extschema@.rfm_in(cstring) RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_out(@extschema@.rfm) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_recv(internal) RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_send(@extschema@.rfm) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.rfm (
	INPUT = @extschema@.rfm_in,
	OUTPUT = @extschema@.rfm_out,
	RECEIVE = @extschema@.rfm_recv,
	SEND = @extschema@.rfm_send,
	INTERNALLENGTH = 2,
	PASSEDBYVALUE,
	ALIGNMENT = int2
);
COMMENT ON TYPE @extschema@.rfm IS 'recency, frequency and monetary scores, written R-F-M such as 5-4-3';
COMMENT ON FUNCTION @extschema@.rfm_in(cstring) IS 'text input of rfm';
COMMENT ON FUNCTION @extschema@.rfm_out(@extschema@.rfm) IS 'text output of rfm';
COMMENT ON FUNCTION @extschema@.rfm_recv(internal) IS 'binary input of rfm';
COMMENT ON FUNCTION @extschema@.rfm_send(@extschema@.rfm) IS 'binary output of rfm';

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
CREATE FUNCTION @extschema@.rfm_eq(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.rfm_ne(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.rfm_lt(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.rfm_le(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.rfm_gt(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.rfm_ge(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.rfm_cmp(@extschema@.rfm, @extschema@.rfm) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.rfm_hash(@extschema@.rfm) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.rfm_hash_extended(@extschema@.rfm, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rfm_eq(@extschema@.rfm, @extschema@.rfm) IS 'implementation of = for rfm';
COMMENT ON FUNCTION @extschema@.rfm_ne(@extschema@.rfm, @extschema@.rfm) IS 'implementation of <> for rfm';
COMMENT ON FUNCTION @extschema@.rfm_lt(@extschema@.rfm, @extschema@.rfm) IS 'implementation of < for rfm';
COMMENT ON FUNCTION @extschema@.rfm_le(@extschema@.rfm, @extschema@.rfm) IS 'implementation of <= for rfm';
COMMENT ON FUNCTION @extschema@.rfm_gt(@extschema@.rfm, @extschema@.rfm) IS 'implementation of > for rfm';
COMMENT ON FUNCTION @extschema@.rfm_ge(@extschema@.rfm, @extschema@.rfm) IS 'implementation of >= for rfm';
COMMENT ON FUNCTION @extschema@.rfm_cmp(@extschema@.rfm, @extschema@.rfm) IS 'B-tree comparison of rfm';
COMMENT ON FUNCTION @extschema@.rfm_hash(@extschema@.rfm) IS 'hash of rfm';
COMMENT ON FUNCTION @extschema@.rfm_hash_extended(@extschema@.rfm, bigint) IS 'seeded hash of rfm';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);
CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);
COMMENT ON OPERATOR @extschema@.= (@extschema@.rfm, @extschema@.rfm) IS 'equal';
COMMENT ON OPERATOR @extschema@.<> (@extschema@.rfm, @extschema@.rfm) IS 'not equal';
COMMENT ON OPERATOR @extschema@.< (@extschema@.rfm, @extschema@.rfm) IS 'less than, by cell code';
COMMENT ON OPERATOR @extschema@.<= (@extschema@.rfm, @extschema@.rfm) IS 'less than or equal, by cell code';
COMMENT ON OPERATOR @extschema@.> (@extschema@.rfm, @extschema@.rfm) IS 'greater than, by cell code';
COMMENT ON OPERATOR @extschema@.>= (@extschema@.rfm, @extschema@.rfm) IS 'greater than or equal, by cell code';

CREATE FUNCTION @extschema@.rfm_smaller(@extschema@.rfm, @extschema@.rfm) RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_larger(@extschema@.rfm, @extschema@.rfm) RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_smaller(@extschema@.rfm, @extschema@.rfm) IS 'the smaller of two rfm values, by cell code';
COMMENT ON FUNCTION @extschema@.rfm_larger(@extschema@.rfm, @extschema@.rfm) IS 'the larger of two rfm values, by cell code';
CREATE AGGREGATE @extschema@.min(@extschema@.rfm) (
	SFUNC = @extschema@.rfm_smaller, STYPE = @extschema@.rfm,
	COMBINEFUNC = @extschema@.rfm_smaller, SORTOP = OPERATOR(@extschema@.<), PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.max(@extschema@.rfm) (
	SFUNC = @extschema@.rfm_larger, STYPE = @extschema@.rfm,
	COMBINEFUNC = @extschema@.rfm_larger, SORTOP = OPERATOR(@extschema@.>), PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.min(@extschema@.rfm) IS 'smallest rfm by cell code';
COMMENT ON AGGREGATE @extschema@.max(@extschema@.rfm) IS 'largest rfm by cell code';

CREATE OPERATOR CLASS @extschema@.rfm_ops DEFAULT FOR TYPE @extschema@.rfm USING btree AS
	OPERATOR 1 @extschema@.<,
	OPERATOR 2 @extschema@.<=,
	OPERATOR 3 @extschema@.=,
	OPERATOR 4 @extschema@.>=,
	OPERATOR 5 @extschema@.>,
	FUNCTION 1 @extschema@.rfm_cmp(@extschema@.rfm, @extschema@.rfm);
COMMENT ON OPERATOR CLASS @extschema@.rfm_ops USING btree IS 'B-tree ordering of rfm by cell code';

CREATE OPERATOR CLASS @extschema@.rfm_hash_ops DEFAULT FOR TYPE @extschema@.rfm USING hash AS
	OPERATOR 1 @extschema@.=,
	FUNCTION 1 @extschema@.rfm_hash(@extschema@.rfm),
	FUNCTION 2 @extschema@.rfm_hash_extended(@extschema@.rfm, bigint);
COMMENT ON OPERATOR CLASS @extschema@.rfm_hash_ops USING hash IS 'hashing of rfm';
COMMENT ON OPERATOR FAMILY @extschema@.rfm_ops USING btree IS 'B-tree ordering of rfm by cell code';
COMMENT ON OPERATOR FAMILY @extschema@.rfm_hash_ops USING hash IS 'hashing of rfm';

-- rfm_thresholds: a population's score thresholds (src/rfm_thresholds.c, src/rfm_thresholds_agg.c)

CREATE TYPE @extschema@.rfm_thresholds;

CREATE FUNCTION @extschema@.rfm_thresholds_in(cstring) RETURNS @extschema@.rfm_thresholds
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_thresholds_out(@extschema@.rfm_thresholds) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_thresholds_recv(internal) RETURNS @extschema@.rfm_thresholds
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_thresholds_send(@extschema@.rfm_thresholds) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.rfm_thresholds (
	INPUT = @extschema@.rfm_thresholds_in,
	OUTPUT = @extschema@.rfm_thresholds_out,
	RECEIVE = @extschema@.rfm_thresholds_recv,
	SEND = @extschema@.rfm_thresholds_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double
);
COMMENT ON TYPE @extschema@.rfm_thresholds IS
	'score thresholds of recency (days), frequency (orders) and monetary (amount), as JSON text';
COMMENT ON FUNCTION @extschema@.rfm_thresholds_in(cstring) IS 'text input of rfm_thresholds';
COMMENT ON FUNCTION @extschema@.rfm_thresholds_out(@extschema@.rfm_thresholds) IS 'text output of rfm_thresholds';
COMMENT ON FUNCTION @extschema@.rfm_thresholds_recv(internal) IS 'binary input of rfm_thresholds';
COMMENT ON FUNCTION @extschema@.rfm_thresholds_send(@extschema@.rfm_thresholds) IS 'binary output of rfm_thresholds';

CREATE FUNCTION @extschema@.make_rfm_thresholds(recency double precision[], frequency double precision[],
												monetary double precision[])
	RETURNS @extschema@.rfm_thresholds
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.make_rfm_thresholds(double precision[], double precision[], double precision[]) IS
	'custom thresholds: up to 8 finite non-decreasing values per dimension; N values make N+1 bins';

CREATE FUNCTION @extschema@.recency_thresholds(@extschema@.rfm_thresholds) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'rfm_thresholds_recency' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.recency_thresholds(@extschema@.rfm_thresholds) IS 'recency thresholds in days';
CREATE FUNCTION @extschema@.frequency_thresholds(@extschema@.rfm_thresholds) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'rfm_thresholds_frequency' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.frequency_thresholds(@extschema@.rfm_thresholds) IS 'frequency thresholds in orders';
CREATE FUNCTION @extschema@.monetary_thresholds(@extschema@.rfm_thresholds) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'rfm_thresholds_monetary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.monetary_thresholds(@extschema@.rfm_thresholds) IS 'monetary thresholds in amount';

-- the aggregate's transition state: every customer's three values
CREATE FUNCTION @extschema@.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer, integer, integer)
	RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_thresholds_combinefn(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_thresholds_serializefn(internal) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_thresholds_deserializefn(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_thresholds_finalfn(internal) RETURNS @extschema@.rfm_thresholds
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz) IS
	'rfm_thresholds aggregate: adds a customer';
COMMENT ON FUNCTION @extschema@.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer) IS
	'rfm_thresholds aggregate: adds a customer';
COMMENT ON FUNCTION @extschema@.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer, integer, integer) IS
	'rfm_thresholds aggregate: adds a customer';
COMMENT ON FUNCTION @extschema@.rfm_thresholds_combinefn(internal, internal) IS 'rfm_thresholds aggregate: combines partial states';
COMMENT ON FUNCTION @extschema@.rfm_thresholds_serializefn(internal) IS 'rfm_thresholds aggregate: serializes a partial state';
COMMENT ON FUNCTION @extschema@.rfm_thresholds_deserializefn(bytea, internal) IS 'rfm_thresholds aggregate: reads a serialized partial state';
COMMENT ON FUNCTION @extschema@.rfm_thresholds_finalfn(internal) IS 'rfm_thresholds aggregate: percentile thresholds of the population';

CREATE AGGREGATE @extschema@.rfm_thresholds(stats @extschema@.rfm_stats, as_of timestamptz) (
	SFUNC = @extschema@.rfm_thresholds_transfn, STYPE = internal,
	FINALFUNC = @extschema@.rfm_thresholds_finalfn,
	COMBINEFUNC = @extschema@.rfm_thresholds_combinefn,
	SERIALFUNC = @extschema@.rfm_thresholds_serializefn,
	DESERIALFUNC = @extschema@.rfm_thresholds_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_thresholds(stats @extschema@.rfm_stats, as_of timestamptz, bins integer) (
	SFUNC = @extschema@.rfm_thresholds_transfn, STYPE = internal,
	FINALFUNC = @extschema@.rfm_thresholds_finalfn,
	COMBINEFUNC = @extschema@.rfm_thresholds_combinefn,
	SERIALFUNC = @extschema@.rfm_thresholds_serializefn,
	DESERIALFUNC = @extschema@.rfm_thresholds_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_thresholds(stats @extschema@.rfm_stats, as_of timestamptz, recency_bins integer,
											frequency_bins integer, monetary_bins integer) (
	SFUNC = @extschema@.rfm_thresholds_transfn, STYPE = internal,
	FINALFUNC = @extschema@.rfm_thresholds_finalfn,
	COMBINEFUNC = @extschema@.rfm_thresholds_combinefn,
	SERIALFUNC = @extschema@.rfm_thresholds_serializefn,
	DESERIALFUNC = @extschema@.rfm_thresholds_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_thresholds(@extschema@.rfm_stats, timestamptz) IS
	'percentile thresholds of a population of customers, 5 bins per dimension';
COMMENT ON AGGREGATE @extschema@.rfm_thresholds(@extschema@.rfm_stats, timestamptz, integer) IS
	'percentile thresholds of a population of customers, the given number of bins (1 to 9) per dimension';
COMMENT ON AGGREGATE @extschema@.rfm_thresholds(@extschema@.rfm_stats, timestamptz, integer, integer, integer) IS
	'percentile thresholds of a population of customers, bins (1 to 9) given per dimension';

-- rfm_score: scoring customers (src/rfm_score.c)

CREATE FUNCTION @extschema@.rfm_score(stats @extschema@.rfm_stats, as_of timestamptz) RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME', 'rfm_score_window' LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_score(stats @extschema@.rfm_stats, as_of timestamptz, bins integer)
	RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME', 'rfm_score_window' LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_score(stats @extschema@.rfm_stats, as_of timestamptz, recency_bins integer,
									  frequency_bins integer, monetary_bins integer)
	RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME', 'rfm_score_window' LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_score(@extschema@.rfm_stats, timestamptz) IS
	'window function: scores 1 to 5 against the percentile thresholds of the window partition';
COMMENT ON FUNCTION @extschema@.rfm_score(@extschema@.rfm_stats, timestamptz, integer) IS
	'window function: scores 1 to bins against the percentile thresholds of the window partition';
COMMENT ON FUNCTION @extschema@.rfm_score(@extschema@.rfm_stats, timestamptz, integer, integer, integer) IS
	'window function: scores against the percentile thresholds of the window partition, bins per dimension';

CREATE FUNCTION @extschema@.rfm_score(stats @extschema@.rfm_stats, as_of timestamptz,
									  thresholds @extschema@.rfm_thresholds)
	RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME', 'rfm_score_thresholds' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_score(@extschema@.rfm_stats, timestamptz, @extschema@.rfm_thresholds) IS
	'scores one customer against stored thresholds';

-- segment_map: named RFM segments (src/segment_map.c)
--
-- A segment map is a list of boxes of R, F and M score ranges, each naming a
-- segment; the first box by ascending priority that contains a customer's
-- cell is the customer's primary segment.  The map 'default' belongs to the
-- extension (written here, not dumped, read-only); users copy it under a new
-- name with copy_segment_map to change it.  Users' maps are dumped by pg_dump.

CREATE TABLE @extschema@.segment_maps (
	map_name text PRIMARY KEY,
	bins integer NOT NULL DEFAULT 5,
	description text,
	-- the trigger reports these first and more clearly; they hold even when
	-- triggers are off (session_replication_role = replica)
	CONSTRAINT segment_maps_name_not_blank
		CHECK (pg_catalog.btrim(map_name, E' \t\n\r\f\x0B') OPERATOR(pg_catalog.<>) ''),
	CONSTRAINT segment_maps_bins_range
		CHECK (bins OPERATOR(pg_catalog.>=) 1 AND bins OPERATOR(pg_catalog.<=) 9)
);
COMMENT ON TABLE @extschema@.segment_maps IS
	'segment maps: named sets of RFM segments; map default belongs to the extension, copy it with copy_segment_map to change it';
COMMENT ON COLUMN @extschema@.segment_maps.map_name IS 'name of the map, as passed to segment_assign';
COMMENT ON COLUMN @extschema@.segment_maps.bins IS 'scores of the map range from 1 to bins (1 to 9); customers must be scored with this many bins';
COMMENT ON COLUMN @extschema@.segment_maps.description IS 'free text about the map';
COMMENT ON CONSTRAINT segment_maps_name_not_blank ON @extschema@.segment_maps IS 'a map name has a character other than white space';
COMMENT ON CONSTRAINT segment_maps_bins_range ON @extschema@.segment_maps IS 'bins range from 1 to 9';

CREATE TABLE @extschema@.segment_map_boxes (
	map_name text NOT NULL REFERENCES @extschema@.segment_maps (map_name) ON UPDATE CASCADE ON DELETE CASCADE,
	segment_name text NOT NULL,
	priority integer NOT NULL,
	recency_min integer NOT NULL,
	recency_max integer NOT NULL,
	frequency_min integer NOT NULL,
	frequency_max integer NOT NULL,
	monetary_min integer NOT NULL,
	monetary_max integer NOT NULL,
	PRIMARY KEY (map_name, segment_name),
	UNIQUE (map_name, priority),
	CONSTRAINT segment_map_boxes_name_not_blank
		CHECK (pg_catalog.btrim(segment_name, E' \t\n\r\f\x0B') OPERATOR(pg_catalog.<>) ''),
	CONSTRAINT segment_map_boxes_ranges CHECK (
		recency_min OPERATOR(pg_catalog.>=) 1 AND recency_min OPERATOR(pg_catalog.<=) recency_max AND
		recency_max OPERATOR(pg_catalog.<=) 9 AND
		frequency_min OPERATOR(pg_catalog.>=) 1 AND frequency_min OPERATOR(pg_catalog.<=) frequency_max AND
		frequency_max OPERATOR(pg_catalog.<=) 9 AND
		monetary_min OPERATOR(pg_catalog.>=) 1 AND monetary_min OPERATOR(pg_catalog.<=) monetary_max AND
		monetary_max OPERATOR(pg_catalog.<=) 9)
);
COMMENT ON TABLE @extschema@.segment_map_boxes IS
	'the segments of the segment maps: a box of R, F and M score ranges each; the first box by priority containing a cell is its primary segment';
COMMENT ON COLUMN @extschema@.segment_map_boxes.map_name IS 'the map the segment belongs to';
COMMENT ON COLUMN @extschema@.segment_map_boxes.segment_name IS 'name of the segment, unique in its map';
COMMENT ON COLUMN @extschema@.segment_map_boxes.priority IS 'boxes are tried in ascending priority; unique in the map';
COMMENT ON COLUMN @extschema@.segment_map_boxes.recency_min IS 'lowest recency score in the box';
COMMENT ON COLUMN @extschema@.segment_map_boxes.recency_max IS 'highest recency score in the box';
COMMENT ON COLUMN @extschema@.segment_map_boxes.frequency_min IS 'lowest frequency score in the box';
COMMENT ON COLUMN @extschema@.segment_map_boxes.frequency_max IS 'highest frequency score in the box';
COMMENT ON COLUMN @extschema@.segment_map_boxes.monetary_min IS 'lowest monetary score in the box';
COMMENT ON COLUMN @extschema@.segment_map_boxes.monetary_max IS 'highest monetary score in the box';
COMMENT ON CONSTRAINT segment_map_boxes_name_not_blank ON @extschema@.segment_map_boxes IS 'a segment name has a character other than white space';
COMMENT ON CONSTRAINT segment_map_boxes_ranges ON @extschema@.segment_map_boxes IS 'every range is within 1 to 9 and not empty (the trigger checks the bins of the map)';

CREATE FUNCTION @extschema@.segment_maps_check() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.segment_maps_check() IS
	'trigger of segment_maps: names not blank, bins 1 to 9 and no box beyond them, map default left alone';
CREATE TRIGGER segment_maps_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.segment_maps
	FOR EACH ROW EXECUTE FUNCTION @extschema@.segment_maps_check();
CREATE TRIGGER segment_maps_truncate BEFORE TRUNCATE ON @extschema@.segment_maps
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.segment_maps_check();
COMMENT ON TRIGGER segment_maps_check ON @extschema@.segment_maps IS 'validates maps as they are written';
COMMENT ON TRIGGER segment_maps_truncate ON @extschema@.segment_maps IS 'keeps map default from being truncated away';

CREATE FUNCTION @extschema@.segment_map_boxes_check() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.segment_map_boxes_check() IS
	'trigger of segment_map_boxes: names not blank, ranges within the bins of the map, names and priorities unique, map default left alone';
CREATE TRIGGER segment_map_boxes_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.segment_map_boxes
	FOR EACH ROW EXECUTE FUNCTION @extschema@.segment_map_boxes_check();
CREATE TRIGGER segment_map_boxes_truncate BEFORE TRUNCATE ON @extschema@.segment_map_boxes
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.segment_map_boxes_check();
COMMENT ON TRIGGER segment_map_boxes_check ON @extschema@.segment_map_boxes IS 'validates segments as they are written';
COMMENT ON TRIGGER segment_map_boxes_truncate ON @extschema@.segment_map_boxes IS 'keeps map default from being truncated away';

-- The default map: the widely used RFM segments over 5 bins.  Every one of
-- the 125 cells has exactly one primary segment and every segment is the
-- primary segment of some cells (sql/segment_map.sql proves both).  Boxes
-- overlap on purpose: Champions are Loyal Customers too, Can't Lose Them
-- are At Risk, Need Attention are About to Sleep, Lost are Hibernating.
INSERT INTO @extschema@.segment_maps (map_name, bins, description) VALUES
	('default', 5, 'the widely used RFM segments (Champions, Loyal Customers, ..., Lost) over 5 bins');
INSERT INTO @extschema@.segment_map_boxes (map_name, segment_name, priority,
										   recency_min, recency_max, frequency_min, frequency_max,
										   monetary_min, monetary_max) VALUES
	('default', 'Champions',           10, 4, 5, 4, 5, 4, 5),
	('default', 'Loyal Customers',     20, 3, 5, 4, 5, 1, 5),
	('default', 'Can''t Lose Them',    30, 1, 2, 4, 5, 4, 5),
	('default', 'At Risk',             40, 1, 2, 3, 5, 1, 5),
	('default', 'New Customers',       50, 5, 5, 1, 1, 1, 5),
	('default', 'Promising',           60, 4, 4, 1, 1, 1, 5),
	('default', 'Potential Loyalists', 70, 4, 5, 2, 3, 1, 5),
	('default', 'Need Attention',      80, 3, 3, 2, 3, 3, 5),
	('default', 'About to Sleep',      90, 3, 3, 1, 3, 1, 5),
	('default', 'Lost',               100, 1, 1, 1, 1, 1, 5),
	('default', 'Hibernating',        110, 1, 2, 1, 2, 1, 5);

-- users' maps survive pg_dump; the default map is rewritten by CREATE EXTENSION
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_maps', 'WHERE map_name <> ''default''');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_map_boxes', 'WHERE map_name <> ''default''');

-- everyone reads the maps; only the owner (and superusers) write them
GRANT SELECT ON @extschema@.segment_maps, @extschema@.segment_map_boxes TO PUBLIC;

CREATE FUNCTION @extschema@.segment_assign(rfm @extschema@.rfm, map_name text DEFAULT 'default') RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_assign(@extschema@.rfm, text) IS
	'primary segment of a cell in a segment map: the first box by priority containing it, NULL if none';

CREATE FUNCTION @extschema@.segment_memberships(rfm @extschema@.rfm, map_name text DEFAULT 'default') RETURNS text[]
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_memberships(@extschema@.rfm, text) IS
	'every segment of a segment map whose box contains the cell, in priority order (the primary segment first)';

CREATE FUNCTION @extschema@.segment_map_cells(map_name text DEFAULT 'default')
	RETURNS TABLE (recency integer, frequency integer, monetary integer, rfm @extschema@.rfm, segment text)
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 125;
COMMENT ON FUNCTION @extschema@.segment_map_cells(text) IS
	'every cell of a segment map (bins cubed of them, in cell order) with its primary segment';

CREATE FUNCTION @extschema@.copy_segment_map(source text, target text) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.copy_segment_map(text, text) IS
	'creates segment map target with the bins, description and segments of source; the way to change the default map';

-- lifecycle: lifecycle stages of customers (src/lifecycle.c)

CREATE FUNCTION @extschema@.lifecycle_stage(stats @extschema@.rfm_stats, as_of timestamptz,
											new_days double precision DEFAULT 30,
											at_risk_multiple double precision DEFAULT 2,
											lapsed_multiple double precision DEFAULT 4,
											rhythm_min_orders integer DEFAULT 3,
											at_risk_days double precision DEFAULT 90,
											lapsed_days double precision DEFAULT 180)
	RETURNS text
	AS 'MODULE_PATHNAME', 'lifecycle_stage' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lifecycle_stage(@extschema@.rfm_stats, timestamptz, double precision,
												double precision, double precision, integer,
												double precision, double precision) IS
	'prospect, new, active, at_risk, lapsed or reactivated at as_of, against the customer''s own rhythm (mean gap times a multiple) or fixed days below rhythm_min_orders orders; NULL stats is a prospect';

CREATE FUNCTION @extschema@.lifecycle_stages()
	RETURNS TABLE (stage text, "position" integer, description text)
	AS 'MODULE_PATHNAME', 'lifecycle_stages' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 6;
COMMENT ON FUNCTION @extschema@.lifecycle_stages() IS
	'every lifecycle stage in order (prospect, new, active, at_risk, lapsed, reactivated) with its position and description, so that stages without customers still show';

-- segment_set: the set of segment labels of one customer (src/segment_set.c, src/segment_set_gin.c)

CREATE TYPE @extschema@.segment_set;

CREATE FUNCTION @extschema@.segment_set_in(cstring) RETURNS @extschema@.segment_set
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_out(@extschema@.segment_set) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_recv(internal) RETURNS @extschema@.segment_set
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_send(@extschema@.segment_set) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.segment_set (
	INPUT = @extschema@.segment_set_in,
	OUTPUT = @extschema@.segment_set_out,
	RECEIVE = @extschema@.segment_set_recv,
	SEND = @extschema@.segment_set_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.segment_set IS
	'a set of segment labels, written {"Can''t Lose Them",champions,vip}; labels are case-sensitive, 1 to 255 bytes, at most 1000';
COMMENT ON FUNCTION @extschema@.segment_set_in(cstring) IS 'text input of segment_set';
COMMENT ON FUNCTION @extschema@.segment_set_out(@extschema@.segment_set) IS 'text output of segment_set, labels sorted bytewise';
COMMENT ON FUNCTION @extschema@.segment_set_recv(internal) IS 'binary input of segment_set';
COMMENT ON FUNCTION @extschema@.segment_set_send(@extschema@.segment_set) IS 'binary output of segment_set';

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
CREATE FUNCTION @extschema@.segment_set_contains(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_contained(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_overlaps(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_set_has(@extschema@.segment_set, text) IS
	'does the set hold the label? (exact bytes, case-sensitive); the ? operator';
COMMENT ON FUNCTION @extschema@.segment_set_add(@extschema@.segment_set, text) IS 'the set with the label added; the + operator';
COMMENT ON FUNCTION @extschema@.segment_set_remove(@extschema@.segment_set, text) IS 'the set without the label; the - operator';
COMMENT ON FUNCTION @extschema@.segment_set_union(@extschema@.segment_set, @extschema@.segment_set) IS 'union; the | operator';
COMMENT ON FUNCTION @extschema@.segment_set_intersect(@extschema@.segment_set, @extschema@.segment_set) IS 'intersection; the & operator';
COMMENT ON FUNCTION @extschema@.segment_set_contains(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of @> for segment_set';
COMMENT ON FUNCTION @extschema@.segment_set_contained(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of <@ for segment_set';
COMMENT ON FUNCTION @extschema@.segment_set_overlaps(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of && for segment_set';

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
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = @extschema@.segment_set_contains,
	COMMUTATOR = OPERATOR(@extschema@.<@),
	RESTRICT = pg_catalog.matchingsel, JOIN = pg_catalog.matchingjoinsel
);
CREATE OPERATOR @extschema@.<@ (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = @extschema@.segment_set_contained,
	COMMUTATOR = OPERATOR(@extschema@.@>),
	RESTRICT = pg_catalog.matchingsel, JOIN = pg_catalog.matchingjoinsel
);
CREATE OPERATOR @extschema@.&& (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = @extschema@.segment_set_overlaps,
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
CREATE FUNCTION @extschema@.segment_set_eq(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.segment_set_ne(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.segment_set_lt(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.segment_set_le(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.segment_set_gt(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.segment_set_ge(@extschema@.segment_set, @extschema@.segment_set) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.segment_set_cmp(@extschema@.segment_set, @extschema@.segment_set) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.segment_set_hash(@extschema@.segment_set) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.segment_set_hash_extended(@extschema@.segment_set, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.segment_set_eq(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of = for segment_set';
COMMENT ON FUNCTION @extschema@.segment_set_ne(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of <> for segment_set';
COMMENT ON FUNCTION @extschema@.segment_set_lt(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of < for segment_set';
COMMENT ON FUNCTION @extschema@.segment_set_le(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of <= for segment_set';
COMMENT ON FUNCTION @extschema@.segment_set_gt(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of > for segment_set';
COMMENT ON FUNCTION @extschema@.segment_set_ge(@extschema@.segment_set, @extschema@.segment_set) IS 'implementation of >= for segment_set';
COMMENT ON FUNCTION @extschema@.segment_set_cmp(@extschema@.segment_set, @extschema@.segment_set) IS
	'B-tree comparison of segment_set: lexicographic over the sorted labels';
COMMENT ON FUNCTION @extschema@.segment_set_hash(@extschema@.segment_set) IS 'hash of segment_set';
COMMENT ON FUNCTION @extschema@.segment_set_hash_extended(@extschema@.segment_set, bigint) IS 'seeded hash of segment_set';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = @extschema@.segment_set_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = @extschema@.segment_set_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);
CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = @extschema@.segment_set_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = @extschema@.segment_set_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = @extschema@.segment_set_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.segment_set, RIGHTARG = @extschema@.segment_set, FUNCTION = @extschema@.segment_set_ge,
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
	FUNCTION 1 @extschema@.segment_set_cmp(@extschema@.segment_set, @extschema@.segment_set);
COMMENT ON OPERATOR CLASS @extschema@.segment_set_btree_ops USING btree IS
	'B-tree ordering of segment_set, lexicographic over the sorted labels';
COMMENT ON OPERATOR FAMILY @extschema@.segment_set_btree_ops USING btree IS
	'B-tree ordering of segment_set, lexicographic over the sorted labels';

CREATE OPERATOR CLASS @extschema@.segment_set_hash_ops DEFAULT FOR TYPE @extschema@.segment_set USING hash AS
	OPERATOR 1 @extschema@.=,
	FUNCTION 1 @extschema@.segment_set_hash(@extschema@.segment_set),
	FUNCTION 2 @extschema@.segment_set_hash_extended(@extschema@.segment_set, bigint);
COMMENT ON OPERATOR CLASS @extschema@.segment_set_hash_ops USING hash IS 'hashing of segment_set';
COMMENT ON OPERATOR FAMILY @extschema@.segment_set_hash_ops USING hash IS 'hashing of segment_set';

-- GIN: keys are 32-bit hashes of the labels, matches are rechecked
CREATE FUNCTION @extschema@.segment_set_gin_extract_value(@extschema@.segment_set, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_gin_extract_query(@extschema@.segment_set, internal, smallint, internal, internal, internal, internal)
	RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_gin_consistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal, internal)
	RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_gin_triconsistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal)
	RETURNS "char"
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_set_gin_extract_value(@extschema@.segment_set, internal) IS
	'GIN support: the keys of a segment_set, hashes of its labels';
COMMENT ON FUNCTION @extschema@.segment_set_gin_extract_query(@extschema@.segment_set, internal, smallint, internal, internal, internal, internal) IS
	'GIN support: the keys of a query';
COMMENT ON FUNCTION @extschema@.segment_set_gin_consistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal, internal) IS
	'GIN support: may an indexed segment_set match the query';
COMMENT ON FUNCTION @extschema@.segment_set_gin_triconsistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal) IS
	'GIN support: may an indexed segment_set match the query, some keys unknown';

CREATE OPERATOR CLASS @extschema@.segment_set_ops DEFAULT FOR TYPE @extschema@.segment_set USING gin AS
	OPERATOR 1 @extschema@.&& (@extschema@.segment_set, @extschema@.segment_set),
	OPERATOR 2 @extschema@.@> (@extschema@.segment_set, @extschema@.segment_set),
	OPERATOR 3 @extschema@.<@ (@extschema@.segment_set, @extschema@.segment_set),
	OPERATOR 4 @extschema@.= (@extschema@.segment_set, @extschema@.segment_set),
	OPERATOR 5 @extschema@.? (@extschema@.segment_set, text),
	FUNCTION 1 pg_catalog.btint4cmp(integer, integer),
	FUNCTION 2 @extschema@.segment_set_gin_extract_value(@extschema@.segment_set, internal),
	FUNCTION 3 @extschema@.segment_set_gin_extract_query(@extschema@.segment_set, internal, smallint, internal, internal, internal, internal),
	FUNCTION 4 @extschema@.segment_set_gin_consistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal, internal),
	FUNCTION 6 @extschema@.segment_set_gin_triconsistent(internal, smallint, @extschema@.segment_set, integer, internal, internal, internal),
	STORAGE integer;
COMMENT ON OPERATOR CLASS @extschema@.segment_set_ops USING gin IS
	'GIN indexing of segment_set for &&, @>, <@, = and ?; keys are 32-bit hashes of the labels';
COMMENT ON OPERATOR FAMILY @extschema@.segment_set_ops USING gin IS
	'GIN indexing of segment_set for &&, @>, <@, = and ?; keys are 32-bit hashes of the labels';

-- segment_set_agg(text): the labels of a group as a set
CREATE FUNCTION @extschema@.segment_set_agg_transfn(internal, text) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_agg_combinefn(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_agg_serializefn(internal) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_agg_deserializefn(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_set_agg_finalfn(internal) RETURNS @extschema@.segment_set
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_set_agg_transfn(internal, text) IS 'segment_set_agg: adds a label';
COMMENT ON FUNCTION @extschema@.segment_set_agg_combinefn(internal, internal) IS 'segment_set_agg: merges partial states';
COMMENT ON FUNCTION @extschema@.segment_set_agg_serializefn(internal) IS 'segment_set_agg: state to bytes';
COMMENT ON FUNCTION @extschema@.segment_set_agg_deserializefn(bytea, internal) IS 'segment_set_agg: state from bytes';
COMMENT ON FUNCTION @extschema@.segment_set_agg_finalfn(internal) IS 'segment_set_agg: the set';

CREATE AGGREGATE @extschema@.segment_set_agg(text) (
	SFUNC = @extschema@.segment_set_agg_transfn, STYPE = internal,
	FINALFUNC = @extschema@.segment_set_agg_finalfn,
	COMBINEFUNC = @extschema@.segment_set_agg_combinefn,
	SERIALFUNC = @extschema@.segment_set_agg_serializefn,
	DESERIALFUNC = @extschema@.segment_set_agg_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.segment_set_agg(text) IS
	'the set of the labels of a group; NULL labels are skipped, no labels give NULL';

-- attach: binding segment to the tables a CRM already has, and the views BI
-- tools read (src/attach.sql, src/segment_rule.c)
--
-- attach() records an attachment and builds its views; rule segments are
-- boolean expressions over a customer's row; every view is rebuilt from the
-- attachment, its map and its rules by rebuild_attachment_views().  The
-- functions run with search_path = pg_catalog, @extschema@, pg_temp and
-- quote every name with format('%I'); the only SQL they splice is a rule's
-- expression, which segment_rule_check() has proved to be one expression.

CREATE FUNCTION @extschema@.segment_as_of() RETURNS timestamptz
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT coalesce(nullif(pg_catalog.current_setting('segment.as_of', true), '')::pg_catalog.timestamptz,
						  pg_catalog.now()) $$;
COMMENT ON FUNCTION @extschema@.segment_as_of() IS
	'the time the views judge customers at: the setting segment.as_of if set, else now()';

CREATE TABLE @extschema@.attachments (
	attachment_name text PRIMARY KEY,
	orders_table regclass NOT NULL,
	customer_column name NOT NULL,
	order_time_column name NOT NULL,
	amount_column name NOT NULL,
	customers_table regclass,
	customer_key name,
	view_schema name NOT NULL,
	map_name text NOT NULL REFERENCES @extschema@.segment_maps (map_name) ON UPDATE CASCADE,
	bins integer NOT NULL DEFAULT 5,
	views text[] NOT NULL DEFAULT '{}',
	state_table regclass,
	thresholds @extschema@.rfm_thresholds,
	population_average_order_value numeric,
	thresholds_as_of timestamptz,
	CONSTRAINT attachment_name_is_plain CHECK (attachment_name ~ '^[a-z][a-z0-9_]{0,29}$'),
	CONSTRAINT bins_in_range CHECK (bins BETWEEN 1 AND 9),
	CONSTRAINT customers_with_key CHECK ((customers_table IS NULL) = (customer_key IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.attachments', '');
-- the views of maintained attachments read their stored thresholds
GRANT SELECT ON @extschema@.attachments TO PUBLIC;
COMMENT ON TABLE @extschema@.attachments IS 'tables bound to segment with attach(), and the views built for each';
COMMENT ON COLUMN @extschema@.attachments.attachment_name IS 'name of the attachment, prefix of its views';
COMMENT ON COLUMN @extschema@.attachments.orders_table IS 'the orders table';
COMMENT ON COLUMN @extschema@.attachments.customer_column IS 'customer key column of the orders table';
COMMENT ON COLUMN @extschema@.attachments.order_time_column IS 'order time column of the orders table';
COMMENT ON COLUMN @extschema@.attachments.amount_column IS 'amount column of the orders table';
COMMENT ON COLUMN @extschema@.attachments.customers_table IS 'the customers table, if any: its columns are available to rules and its customers without orders are prospects';
COMMENT ON COLUMN @extschema@.attachments.customer_key IS 'key column of the customers table';
COMMENT ON COLUMN @extschema@.attachments.view_schema IS 'schema the views are created in';
COMMENT ON COLUMN @extschema@.attachments.map_name IS 'segment map that names the RFM segments';
COMMENT ON COLUMN @extschema@.attachments.bins IS 'score bins per dimension';
COMMENT ON COLUMN @extschema@.attachments.views IS 'the views built, in the order they were created';
COMMENT ON COLUMN @extschema@.attachments.thresholds IS
	'score thresholds of a maintained attachment, stored by refresh_attachment_thresholds()';
COMMENT ON COLUMN @extschema@.attachments.population_average_order_value IS
	'average order value of all customers of a maintained attachment, stored with the thresholds';
COMMENT ON COLUMN @extschema@.attachments.thresholds_as_of IS 'the analysis time the thresholds were computed at';
COMMENT ON COLUMN @extschema@.attachments.state_table IS
	'per-customer statistics kept current by triggers (maintain_attachment()), which the views read; NULL if not maintained';

CREATE TABLE @extschema@.segment_rules (
	attachment_name text NOT NULL REFERENCES @extschema@.attachments ON UPDATE CASCADE ON DELETE CASCADE,
	rule_name text NOT NULL,
	expression text NOT NULL,
	description text,
	PRIMARY KEY (attachment_name, rule_name),
	CONSTRAINT rule_name_not_blank CHECK (rule_name ~ '\S')
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_rules', '');
COMMENT ON TABLE @extschema@.segment_rules IS 'rule segments: a boolean SQL expression over a customer''s row and statistics';
COMMENT ON COLUMN @extschema@.segment_rules.attachment_name IS 'the attachment whose customers the rule judges';
COMMENT ON COLUMN @extschema@.segment_rules.rule_name IS 'name of the segment';
COMMENT ON COLUMN @extschema@.segment_rules.expression IS 'one boolean SQL expression over the columns of the attachment''s customers view';
COMMENT ON COLUMN @extschema@.segment_rules.description IS 'what the segment means, for people';

CREATE FUNCTION @extschema@.segment_rule_check(expression text) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segment_rule_check(text) IS
	'raises an error unless the text is exactly one SQL expression';
CREATE FUNCTION @extschema@.segment_rules_check_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.segment_rules_check_trigger() IS
	'checks the expression of every rule written to segment_rules';
CREATE TRIGGER check_expression BEFORE INSERT OR UPDATE ON @extschema@.segment_rules
	FOR EACH ROW EXECUTE FUNCTION @extschema@.segment_rules_check_trigger();

-- A view-name fragment of a segment name: lower case, words joined by _.
CREATE FUNCTION @extschema@.segment_slug(segment_name text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT pg_catalog.btrim(pg_catalog.regexp_replace(pg_catalog.regexp_replace(
			pg_catalog.lower(segment_name), '''', '', 'g'), '[^a-z0-9]+', '_', 'g'), '_') $$;
COMMENT ON FUNCTION @extschema@.segment_slug(text) IS
	'the name of a segment as it appears in view names: Can''t Lose Them gives cant_lose_them';

-- The columns the customers view adds to the customers table's own.
CREATE FUNCTION @extschema@.customer_view_columns()
	RETURNS TABLE (column_name name, description text)
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ VALUES
		('order_count'::name, 'number of orders; 0 for a prospect'),
		('total_amount', 'exact total of the order amounts; 0 for a prospect'),
		('average_order_value', 'total amount over orders; NULL for a prospect'),
		('population_average_order_value', 'average order value of all customers with orders'),
		('first_order_time', 'time of the first order'),
		('last_order_time', 'time of the last order'),
		('recency_days', 'days from the last order to the analysis time (segment_as_of())'),
		('recency_score', 'R: 1 (longest ago) to bins (most recent)'),
		('frequency_score', 'F: 1 (fewest orders) to bins (most)'),
		('monetary_score', 'M: 1 (smallest total) to bins (largest)'),
		('rfm_cell', 'three-digit cell code, such as 543'),
		('rfm', 'scores as R-F-M, such as 5-4-3'),
		('segment', 'primary named RFM segment'),
		('segments', 'every segment the customer belongs to, RFM and rule segments, comma separated'),
		('lifecycle_stage', 'prospect, new, active, at_risk, lapsed or reactivated')
	$$;
COMMENT ON FUNCTION @extschema@.customer_view_columns() IS
	'the columns segment adds to a customer in the views of an attachment';

-- Comments a view and its columns: pairs of column name and comment.
CREATE FUNCTION @extschema@.comment_view(view_name text, view_comment text, VARIADIC columns text[])
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $function$
BEGIN
	EXECUTE format('COMMENT ON VIEW %s IS %L', view_name, view_comment);
	FOR i IN 1 .. coalesce(array_upper(columns, 1), 0) BY 2 LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, columns[i], columns[i + 1]);
	END LOOP;
END
$function$;
COMMENT ON FUNCTION @extschema@.comment_view(text, text, text[]) IS
	'comments a view of an attachment and its columns, given as pairs of name and comment';

CREATE FUNCTION @extschema@.rebuild_attachment_views(attachment_name text) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	ext text;
	options text := '';
	prefix text;
	customer_columns text := '';
	own_columns name[] := '{}';
	population text;
	rule_values text := '';
	rule_array text := '';
	members_lateral text;
	segment_list text;
	view_name text;
	built text[] := '{}';
	stats_source text;
	scoring text;
	reference text;
	seg record;
	col record;
BEGIN
	SELECT * INTO a FROM attachments t
	WHERE t.attachment_name = rebuild_attachment_views.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', rebuild_attachment_views.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	SELECT format('%I', n.nspname) INTO ext
	FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'segment';
	IF current_setting('server_version_num')::int >= 150000 THEN
		options := ' WITH (security_invoker = true)';
	ELSE
		RAISE WARNING 'views of attachment "%" run with the rights of their owner', a.attachment_name
			USING DETAIL = 'security_invoker views need PostgreSQL 15.';
	END IF;
	prefix := a.attachment_name || '_';

	-- drop the previous views, dependents first
	FOR i IN REVERSE coalesce(array_upper(a.views, 1), 0) .. 1 LOOP
		EXECUTE format('DROP VIEW IF EXISTS %s', a.views[i]);
	END LOOP;

	-- one row per customer: the customers table (prospects included) or
	-- the customers found in the orders
	IF a.customers_table IS NOT NULL THEN
		SELECT coalesce(array_agg(att.attname ORDER BY att.attnum), '{}') INTO own_columns
		FROM pg_attribute att
		WHERE att.attrelid = a.customers_table AND att.attnum > 0 AND NOT att.attisdropped
		  AND att.attname <> a.customer_key;
		SELECT coalesce(string_agg(format(', c.%I', c), ''), '') INTO customer_columns
		FROM unnest(own_columns) c;
		population := format(
			'SELECT c.%I AS customer_id%s, s.stats FROM %s c LEFT JOIN stats s ON s.customer_id = c.%I',
			a.customer_key, customer_columns, a.customers_table, a.customer_key);
		customer_columns := replace(customer_columns, ', c.', ', p.');
	ELSE
		population := 'SELECT s.customer_id, s.stats FROM stats s';
	END IF;

	FOR seg IN
		SELECT r.rule_name, r.expression FROM segment_rules r
		WHERE r.attachment_name = a.attachment_name ORDER BY r.rule_name
	LOOP
		PERFORM segment_rule_check(seg.expression);
		-- CASE WHEN and WHERE take booleans only, so a number is an error
		rule_values := rule_values || format('%s(%L, (%s) IS TRUE)',
			CASE WHEN rule_values = '' THEN '' ELSE ', ' END, seg.rule_name, seg.expression);
		rule_array := rule_array || format(', CASE WHEN (%s) THEN %L END', seg.expression, seg.rule_name);
	END LOOP;

	-- per-customer statistics: maintained by triggers and scored against the
	-- thresholds stored at the last refresh (no window over all customers,
	-- so reading one customer is an index lookup), or computed from the
	-- orders and scored against all customers at read time
	IF a.state_table IS NOT NULL THEN
		stats_source := format('SELECT s.customer_id, s.stats FROM %s s', a.state_table);
		scoring := format('%1$s.rfm_score(p.stats, clock.as_of, r.thresholds) AS scores,
		   r.population_average_order_value', ext);
		reference := format(', (SELECT t.thresholds, t.population_average_order_value FROM %s.attachments t
		   WHERE t.attachment_name = %L) r', ext, a.attachment_name);
	ELSE
		scoring := format('%1$s.rfm_score(p.stats, clock.as_of, %2$s) OVER () AS scores,
		   sum(%1$s.total_amount(p.stats)) OVER () / sum(%1$s.order_count(p.stats)) OVER () AS population_average_order_value',
		   ext, a.bins);
		reference := '';
		stats_source := format(
			'SELECT o.%1$I AS customer_id, %2$s.rfm_stats(o.%3$I::timestamptz, o.%4$I::numeric) AS stats
	FROM %5$s o, clock
	WHERE o.%3$I::timestamptz <= clock.as_of AND o.%1$I IS NOT NULL
	GROUP BY o.%1$I', a.customer_column, ext, a.order_time_column, a.amount_column, a.orders_table);
	END IF;

	view_name := format('%I.%I', a.view_schema, prefix || 'customers');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
WITH clock AS (
	SELECT %3$s.segment_as_of() AS as_of
), stats AS (
	%4$s
), population AS (
	%5$s
), scored AS (
	SELECT p.*, clock.as_of, %6$s
	FROM population p, clock%11$s
), described AS (
	SELECT p.customer_id%7$s,
		   coalesce(%3$s.order_count(p.stats), 0) AS order_count,
		   coalesce(%3$s.total_amount(p.stats), 0) AS total_amount,
		   %3$s.total_amount(p.stats) / %3$s.order_count(p.stats) AS average_order_value,
		   p.population_average_order_value,
		   %3$s.first_order_time(p.stats) AS first_order_time,
		   %3$s.last_order_time(p.stats) AS last_order_time,
		   round(%3$s.recency_days(p.stats, p.as_of)::numeric, 6) AS recency_days,
		   %3$s.recency_score(p.scores) AS recency_score,
		   %3$s.frequency_score(p.scores) AS frequency_score,
		   %3$s.monetary_score(p.scores) AS monetary_score,
		   %3$s.rfm_cell(p.scores) AS rfm_cell,
		   p.scores::text AS rfm,
		   %3$s.segment_assign(p.scores, %8$L) AS segment,
		   %3$s.segment_memberships(p.scores, %8$L) AS rfm_segments,
		   %3$s.lifecycle_stage(p.stats, p.as_of) AS lifecycle_stage
	FROM scored p
)
SELECT customer.customer_id%9$s, customer.order_count, customer.total_amount, customer.average_order_value,
	   customer.population_average_order_value, customer.first_order_time, customer.last_order_time,
	   customer.recency_days, customer.recency_score, customer.frequency_score, customer.monetary_score,
	   customer.rfm_cell, customer.rfm, customer.segment,
	   array_to_string(coalesce(customer.rfm_segments, '{}') || array_remove(ARRAY[NULL::text%10$s], NULL), ', ') AS segments,
	   customer.lifecycle_stage
FROM described AS customer
$view$, view_name, options, ext, stats_source, population, scoring, customer_columns, a.map_name,
		replace(customer_columns, ', p.', ', customer.'), rule_array, reference);
	built := built || view_name;
	EXECUTE format('COMMENT ON VIEW %s IS %L', view_name,
		format('one row per customer of %s with RFM scores, segments and lifecycle stage (segment attachment %s)',
			   a.orders_table, a.attachment_name));
	EXECUTE format('COMMENT ON COLUMN %s.customer_id IS %L', view_name, 'the customer''s key');
	FOR col IN SELECT * FROM customer_view_columns() LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.column_name, col.description);
	END LOOP;
	FOR i IN 1 .. coalesce(array_upper(own_columns, 1), 0) LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, own_columns[i],
					   format('from %s', a.customers_table));
	END LOOP;

	-- every membership of a customer, one row each
	members_lateral := format($lateral$
	CROSS JOIN LATERAL (
		SELECT s.segment, 'rfm'::text FROM unnest(%1$s.segment_memberships(customer.rfm::%1$s.rfm, %2$L)) AS s(segment)
		UNION ALL
		SELECT v.segment, 'rule'::text FROM (VALUES %3$s) AS v(segment, member) WHERE v.member
	) AS m(segment, kind)$lateral$, ext, a.map_name,
		CASE WHEN rule_values = '' THEN '(NULL::text, false)' ELSE rule_values END);

	view_name := format('%I.%I', a.view_schema, prefix || 'segment_members');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
SELECT customer.customer_id, m.segment, m.kind, customer.order_count, customer.total_amount
FROM %3$I.%4$I AS customer%5$s
$view$, view_name, options, a.view_schema, prefix || 'customers', members_lateral);
	built := built || view_name;
	PERFORM comment_view(view_name,
		format('one row per segment membership of a customer (segment attachment %s)', a.attachment_name),
		'customer_id', 'the customer''s key',
		'segment', 'a segment the customer belongs to',
		'kind', 'rfm for a segment of the map, rule for a rule segment',
		'order_count', 'the customer''s number of orders',
		'total_amount', 'the customer''s total amount');

	-- the segments in display order: the map's, then the rules
	segment_list := format($list$
	SELECT b.segment_name AS segment, 'rfm'::text AS kind, b.priority AS position
	FROM %1$s.segment_map_boxes b WHERE b.map_name = %2$L
	UNION ALL
	SELECT r.rule_name, 'rule', 1000000 + row_number() OVER (ORDER BY r.rule_name)
	FROM %1$s.segment_rules r WHERE r.attachment_name = %3$L$list$, ext, a.map_name, a.attachment_name);

	view_name := format('%I.%I', a.view_schema, prefix || 'segment_summary');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
WITH customer AS MATERIALIZED (
	SELECT * FROM %3$I.%4$I
), membership AS (
	SELECT customer.customer_id, m.segment, customer.order_count, customer.total_amount
	FROM customer%5$s
), segment_list AS (%6$s
)
SELECT l.segment, l.kind, count(m.customer_id)::integer AS customers,
	   round(count(m.customer_id)::numeric / nullif((SELECT count(*) FROM customer), 0), 4) AS share_of_customers,
	   coalesce(sum(m.order_count), 0)::numeric AS orders,
	   coalesce(sum(m.total_amount), 0) AS revenue,
	   round(sum(m.total_amount) / nullif(sum(m.order_count), 0), 2) AS average_order_value
FROM segment_list l LEFT JOIN membership m ON m.segment = l.segment
GROUP BY l.segment, l.kind, l.position
ORDER BY l.position
$view$, view_name, options, a.view_schema, prefix || 'customers', members_lateral, segment_list);
	built := built || view_name;
	PERFORM comment_view(view_name,
		format('customers, orders and revenue of every segment (segment attachment %s)', a.attachment_name),
		'segment', 'segment name',
		'kind', 'rfm for a segment of the map, rule for a rule segment',
		'customers', 'customers in the segment',
		'share_of_customers', 'customers in the segment over all customers, 0 to 1',
		'orders', 'orders of the customers in the segment',
		'revenue', 'total amount of the customers in the segment',
		'average_order_value', 'revenue over orders');

	view_name := format('%I.%I', a.view_schema, prefix || 'lifecycle_summary');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
WITH customer AS MATERIALIZED (
	SELECT lifecycle_stage, order_count, total_amount FROM %3$I.%4$I
)
SELECT s.stage AS lifecycle_stage, count(c.lifecycle_stage)::integer AS customers,
	   round(count(c.lifecycle_stage)::numeric / nullif((SELECT count(*) FROM customer), 0), 4) AS share_of_customers,
	   coalesce(sum(c.order_count), 0)::numeric AS orders,
	   coalesce(sum(c.total_amount), 0) AS revenue,
	   round(sum(c.total_amount) / nullif(sum(c.order_count), 0), 2) AS average_order_value
FROM %5$s.lifecycle_stages() s LEFT JOIN customer c ON c.lifecycle_stage = s.stage
GROUP BY s.stage, s.position
ORDER BY s.position
$view$, view_name, options, a.view_schema, prefix || 'customers', ext);
	built := built || view_name;
	PERFORM comment_view(view_name,
		format('customers, orders and revenue of every lifecycle stage (segment attachment %s)', a.attachment_name),
		'lifecycle_stage', 'lifecycle stage',
		'customers', 'customers in the stage',
		'share_of_customers', 'customers in the stage over all customers, 0 to 1',
		'orders', 'orders of the customers in the stage',
		'revenue', 'total amount of the customers in the stage',
		'average_order_value', 'revenue over orders');

	view_name := format('%I.%I', a.view_schema, prefix || 'rf_grid');
	EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
SELECT r.score AS recency_score, f.score AS frequency_score,
	   count(c.rfm_cell)::integer AS customers,
	   round(avg(c.total_amount), 2) AS average_total_amount
FROM generate_series(1, %5$s) r(score)
	 CROSS JOIN generate_series(1, %5$s) f(score)
	 LEFT JOIN %3$I.%4$I c ON c.recency_score = r.score AND c.frequency_score = f.score
GROUP BY r.score, f.score
ORDER BY r.score, f.score
$view$, view_name, options, a.view_schema, prefix || 'customers', a.bins);
	built := built || view_name;
	PERFORM comment_view(view_name,
		format('customers and mean monetary value per recency and frequency score, for a heatmap (segment attachment %s)',
			   a.attachment_name),
		'recency_score', 'R score',
		'frequency_score', 'F score',
		'customers', 'customers in the cell',
		'average_total_amount', 'mean total amount of the customers in the cell');

	-- one view per segment, named after it
	FOR seg IN EXECUTE format('SELECT segment, kind FROM (%s) l ORDER BY position', segment_list) LOOP
		IF segment_slug(seg.segment) = '' THEN
			RAISE EXCEPTION 'segment "%" has no letters or digits to name its view', seg.segment
				USING ERRCODE = 'invalid_name';
		END IF;
		view_name := format('%I.%I', a.view_schema,
							left(prefix || 'segment_' || segment_slug(seg.segment), 63));
		IF view_name = ANY (built) THEN
			RAISE EXCEPTION 'two segments of attachment "%" would share the view %', a.attachment_name, view_name
				USING ERRCODE = 'duplicate_object', HINT = 'Rename one of the segments.';
		END IF;
		EXECUTE format($view$
CREATE VIEW %1$s%2$s AS
SELECT customer.* FROM %3$I.%4$I AS customer
WHERE EXISTS (SELECT 1 FROM (SELECT customer.*) AS own%5$s WHERE m.segment = %6$L)
$view$, view_name, options, a.view_schema, prefix || 'customers',
			replace(members_lateral, 'customer.', 'own.'), seg.segment);
		built := built || view_name;
		EXECUTE format('COMMENT ON VIEW %s IS %L', view_name,
			format('customers in the %s segment %s (segment attachment %s)', seg.kind, seg.segment, a.attachment_name));
		FOR col IN
			SELECT att.attname, d.description FROM pg_attribute att
			JOIN pg_description d ON d.objoid = att.attrelid AND d.objsubid = att.attnum
			WHERE att.attrelid = (a.view_schema || '.' || quote_ident(prefix || 'customers'))::regclass
		LOOP
			EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.attname, col.description);
		END LOOP;
	END LOOP;

	UPDATE attachments t SET views = built WHERE t.attachment_name = a.attachment_name;
	RETURN QUERY SELECT unnest(built);
END
$function$;
COMMENT ON FUNCTION @extschema@.rebuild_attachment_views(text) IS
	'drops and builds again the views of an attachment, after its map or rules changed';

-- The type of a column, or NULL when the relation has no such column.
CREATE FUNCTION @extschema@.column_type(relation regclass, column_name name) RETURNS regtype
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	AS $$ SELECT a.atttypid::pg_catalog.regtype FROM pg_catalog.pg_attribute a
		  WHERE a.attrelid = relation AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped $$;
COMMENT ON FUNCTION @extschema@.column_type(regclass, name) IS
	'type of a column of a table or view; NULL if there is no such column';

CREATE FUNCTION @extschema@.attach(
	attachment_name text,
	orders regclass,
	customer_column name,
	order_time_column name,
	amount_column name,
	customers regclass DEFAULT NULL,
	customer_key name DEFAULT NULL,
	view_schema name DEFAULT NULL,
	map_name text DEFAULT 'default',
	bins integer DEFAULT 5)
	RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	key_type regtype;
	time_type regtype;
	amount_type regtype;
	target name := attach.view_schema;
	clash name;
BEGIN
	IF attach.attachment_name IS NULL OR attach.attachment_name !~ '^[a-z][a-z0-9_]{0,29}$' THEN
		RAISE EXCEPTION 'invalid attachment name "%"', attach.attachment_name
			USING ERRCODE = 'invalid_name',
				  HINT = 'Use up to 30 lower-case letters, digits and underscores, starting with a letter: it prefixes the view names.';
	END IF;
	IF EXISTS (SELECT 1 FROM attachments t WHERE t.attachment_name = attach.attachment_name) THEN
		RAISE EXCEPTION 'attachment "%" already exists', attach.attachment_name
			USING ERRCODE = 'duplicate_object', HINT = 'Detach it first with detach(), or pick another name.';
	END IF;
	IF orders IS NULL OR customer_column IS NULL OR order_time_column IS NULL OR amount_column IS NULL
	   OR attach.map_name IS NULL OR attach.bins IS NULL THEN
		RAISE EXCEPTION 'orders, its three columns, map_name and bins must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;

	key_type := column_type(orders, customer_column);
	time_type := column_type(orders, order_time_column);
	amount_type := column_type(orders, amount_column);
	IF key_type IS NULL OR time_type IS NULL OR amount_type IS NULL THEN
		RAISE EXCEPTION 'column "%" does not exist in %',
			CASE WHEN key_type IS NULL THEN customer_column
				 WHEN time_type IS NULL THEN order_time_column ELSE amount_column END, orders
			USING ERRCODE = 'undefined_column';
	END IF;
	IF time_type NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
		RAISE EXCEPTION 'order time column "%" of % has type %', order_time_column, orders, time_type
			USING ERRCODE = 'datatype_mismatch', HINT = 'It must be timestamp with time zone, timestamp or date.';
	END IF;
	IF amount_type NOT IN ('numeric'::regtype, 'smallint'::regtype, 'integer'::regtype, 'bigint'::regtype,
						   'real'::regtype, 'double precision'::regtype, 'money'::regtype) THEN
		RAISE EXCEPTION 'amount column "%" of % has type %', amount_column, orders, amount_type
			USING ERRCODE = 'datatype_mismatch', HINT = 'It must be a number: numeric, an integer, real, double precision or money.';
	END IF;

	IF (customers IS NULL) <> (customer_key IS NULL) THEN
		RAISE EXCEPTION 'customers and customer_key go together'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF customers IS NOT NULL THEN
		IF column_type(customers, customer_key) IS NULL THEN
			RAISE EXCEPTION 'column "%" does not exist in %', customer_key, customers
				USING ERRCODE = 'undefined_column';
		END IF;
		IF column_type(customers, customer_key) <> key_type THEN
			RAISE EXCEPTION 'customer keys differ in type: %.% is %, %.% is %',
				orders, customer_column, key_type, customers, customer_key,
				column_type(customers, customer_key)
				USING ERRCODE = 'datatype_mismatch';
		END IF;
		SELECT c.column_name INTO clash
		FROM customer_view_columns() c
		WHERE column_type(customers, c.column_name) IS NOT NULL
		   OR (c.column_name = 'customer_id' AND customer_key <> 'customer_id'
			   AND column_type(customers, 'customer_id') IS NOT NULL)
		LIMIT 1;
		IF clash IS NOT NULL THEN
			RAISE EXCEPTION '% has a column "%", which the customers view computes', customers, clash
				USING ERRCODE = 'duplicate_column',
					  HINT = 'Attach a view of the customers table that renames or leaves out that column.';
		END IF;
	END IF;

	IF target IS NULL THEN
		SELECT n.nspname INTO target FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = orders;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = target) THEN
		RAISE EXCEPTION 'schema "%" does not exist', target USING ERRCODE = 'invalid_schema_name';
	END IF;
	IF NOT has_schema_privilege(target, 'CREATE') THEN
		RAISE EXCEPTION 'permission denied to create views in schema %', target
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM segment_maps m WHERE m.map_name = attach.map_name) THEN
		RAISE EXCEPTION 'segment map "%" does not exist', attach.map_name
			USING ERRCODE = 'undefined_object', HINT = 'The maps are listed in segment_maps.';
	END IF;
	IF attach.bins NOT BETWEEN 1 AND 9 THEN
		RAISE EXCEPTION 'number of bins must be between 1 and 9, not %', attach.bins
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF attach.bins <> (SELECT m.bins FROM segment_maps m WHERE m.map_name = attach.map_name) THEN
		RAISE EXCEPTION 'segment map "%" is for % bins, not %', attach.map_name,
			(SELECT m.bins FROM segment_maps m WHERE m.map_name = attach.map_name), attach.bins
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Score with as many bins as the map has, or pick a map made for your number of bins.';
	END IF;

	INSERT INTO attachments (attachment_name, orders_table, customer_column, order_time_column,
										 amount_column, customers_table, customer_key, view_schema, map_name, bins)
	VALUES (attach.attachment_name, orders, customer_column, order_time_column, amount_column,
			customers, customer_key, target, attach.map_name, attach.bins);
	RETURN QUERY SELECT * FROM rebuild_attachment_views(attach.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.attach(text, regclass, name, name, name, regclass, name, name, text, integer) IS
	'binds segment to an orders table (and optionally a customers table) and builds the views BI tools read';

CREATE FUNCTION @extschema@.detach(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	built text[];
BEGIN
	SELECT t.views INTO built FROM attachments t WHERE t.attachment_name = detach.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', detach.attachment_name USING ERRCODE = 'undefined_object';
	END IF;
	FOR i IN REVERSE coalesce(array_upper(built, 1), 0) .. 1 LOOP
		EXECUTE format('DROP VIEW IF EXISTS %s', built[i]);
	END LOOP;
	IF (SELECT t.state_table FROM attachments t WHERE t.attachment_name = detach.attachment_name) IS NOT NULL THEN
		PERFORM stop_maintaining(detach.attachment_name, rebuild_views => false);
	END IF;
	DELETE FROM attachments t WHERE t.attachment_name = detach.attachment_name;
END
$function$;
COMMENT ON FUNCTION @extschema@.detach(text) IS 'drops the views of an attachment, its rules and the attachment';

CREATE FUNCTION @extschema@.define_segment_rule(attachment_name text, rule_name text, expression text,
												description text DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	problem text;
	problem_state text;
	problem_detail text;
	problem_hint text;
BEGIN
	IF EXISTS (SELECT 1 FROM attachments t JOIN segment_map_boxes b USING (map_name)
			   WHERE t.attachment_name = define_segment_rule.attachment_name
				 AND b.segment_name = define_segment_rule.rule_name) THEN
		RAISE EXCEPTION 'segment "%" is already a segment of the map of attachment "%"',
			define_segment_rule.rule_name, define_segment_rule.attachment_name
			USING ERRCODE = 'duplicate_object';
	END IF;
	BEGIN
		INSERT INTO segment_rules AS r (attachment_name, rule_name, expression, description)
		VALUES (define_segment_rule.attachment_name, define_segment_rule.rule_name,
				define_segment_rule.expression, define_segment_rule.description)
		ON CONFLICT ON CONSTRAINT segment_rules_pkey
		DO UPDATE SET expression = excluded.expression, description = excluded.description;
		-- building the views with the expression in them finds unknown
		-- columns and type errors now, not when a BI tool reads
		PERFORM rebuild_attachment_views(define_segment_rule.attachment_name);
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS problem = MESSAGE_TEXT, problem_state = RETURNED_SQLSTATE,
								problem_detail = PG_EXCEPTION_DETAIL, problem_hint = PG_EXCEPTION_HINT;
		RAISE EXCEPTION 'rule segment "%" of attachment "%" is not valid: %',
			define_segment_rule.rule_name, define_segment_rule.attachment_name, problem
			USING ERRCODE = problem_state,
				  DETAIL = concat_ws(' ', nullif(problem_detail, ''),
									 format('The expression is: %s', define_segment_rule.expression)),
				  HINT = coalesce(nullif(problem_hint, ''),
								  'A rule is one boolean expression over the columns of the attachment''s customers view.');
	END;
END
$function$;
COMMENT ON FUNCTION @extschema@.define_segment_rule(text, text, text, text) IS
	'defines or replaces a rule segment and rebuilds the views; a bad expression is reported here';

CREATE FUNCTION @extschema@.drop_segment_rule(attachment_name text, rule_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
BEGIN
	DELETE FROM segment_rules r
	WHERE r.attachment_name = drop_segment_rule.attachment_name AND r.rule_name = drop_segment_rule.rule_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'rule segment "%" of attachment "%" does not exist',
			drop_segment_rule.rule_name, drop_segment_rule.attachment_name USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM rebuild_attachment_views(drop_segment_rule.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.drop_segment_rule(text, text) IS 'drops a rule segment and rebuilds the views';

-- maintained state: per-customer statistics kept current by triggers
-- (src/state_trigger.c), which the views of the attachment read

CREATE FUNCTION @extschema@.segment_state_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.segment_state_trigger() IS
	'keeps the state table of an attachment current as orders are inserted, updated, deleted and truncated';

CREATE FUNCTION @extschema@.maintain_attachment(attachment_name text) RETURNS regclass
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	state text;
	key_type text;
	trigger_name text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = maintain_attachment.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', maintain_attachment.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF a.state_table IS NOT NULL THEN
		RAISE EXCEPTION 'attachment "%" is already maintained in %', a.attachment_name, a.state_table
			USING ERRCODE = 'duplicate_object';
	END IF;
	state := format('%I.%I', a.view_schema, a.attachment_name || '_state');
	key_type := format_type(column_type(a.orders_table, a.customer_column), NULL);
	trigger_name := 'segment_' || a.attachment_name || '_state';

	-- no order may change between filling the state and the trigger's start
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.orders_table);
	EXECUTE format('CREATE TABLE %s (customer_id %s PRIMARY KEY, stats %I.rfm_stats NOT NULL)',
				   state, key_type, (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n
									 ON n.oid = e.extnamespace WHERE e.extname = 'segment'));
	EXECUTE format('COMMENT ON TABLE %s IS %L', state,
				   format('per-customer statistics of %s, kept current by trigger %s (segment attachment %s)',
						  a.orders_table, trigger_name, a.attachment_name));
	EXECUTE format('COMMENT ON COLUMN %s.customer_id IS %L', state, 'the customer''s key');
	EXECUTE format('COMMENT ON COLUMN %s.stats IS %L', state, 'rfm_stats of all the customer''s orders');
	EXECUTE format($fill$
		INSERT INTO %s (customer_id, stats)
		SELECT o.%I, rfm_stats(o.%I::timestamptz, o.%I::numeric) FROM %s o
		WHERE o.%I IS NOT NULL GROUP BY o.%I HAVING count(o.%I) > 0$fill$,
		state, a.customer_column, a.order_time_column, a.amount_column, a.orders_table,
		a.customer_column, a.customer_column, a.order_time_column);
	EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
				   'EXECUTE FUNCTION segment_state_trigger(%L, %L, %L, %L)',
				   trigger_name, a.orders_table, state, a.customer_column, a.order_time_column, a.amount_column);
	EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
				   'EXECUTE FUNCTION segment_state_trigger(%L, %L, %L, %L)',
				   trigger_name || '_truncate', a.orders_table, state, a.customer_column,
				   a.order_time_column, a.amount_column);
	IF NOT EXISTS (SELECT 1 FROM pg_index i
				   WHERE i.indrelid = a.orders_table
					 AND i.indkey[0] = (SELECT att.attnum FROM pg_attribute att
										WHERE att.attrelid = a.orders_table AND att.attname = a.customer_column)) THEN
		RAISE WARNING 'no index on %(%) leads with the customer column', a.orders_table, a.customer_column
			USING DETAIL = 'Updating or deleting an order reads all orders of its customer.',
				  HINT = format('CREATE INDEX ON %s (%I)', a.orders_table, a.customer_column);
	END IF;

	UPDATE attachments t SET state_table = state::regclass
	WHERE t.attachment_name = a.attachment_name;
	PERFORM refresh_attachment_thresholds(a.attachment_name);
	PERFORM rebuild_attachment_views(a.attachment_name);
	RETURN state::regclass;
END
$function$;
COMMENT ON FUNCTION @extschema@.maintain_attachment(text) IS
	'creates the per-customer state table of an attachment, fills it, keeps it current with triggers on the orders table, and makes the views read it';

CREATE FUNCTION @extschema@.stop_maintaining(attachment_name text, rebuild_views boolean DEFAULT true) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = stop_maintaining.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', stop_maintaining.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'segment_' || a.attachment_name || '_state', a.orders_table);
	EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'segment_' || a.attachment_name || '_state_truncate', a.orders_table);
	UPDATE attachments t
	SET state_table = NULL, thresholds = NULL, population_average_order_value = NULL, thresholds_as_of = NULL
	WHERE t.attachment_name = a.attachment_name;
	IF rebuild_views THEN
		PERFORM rebuild_attachment_views(a.attachment_name);
	END IF;
	EXECUTE format('DROP TABLE %s', a.state_table);
END
$function$;
COMMENT ON FUNCTION @extschema@.stop_maintaining(text, boolean) IS
	'drops the triggers and the state table of an attachment; its views read the orders again';

CREATE FUNCTION @extschema@.refresh_attachment_thresholds(attachment_name text) RETURNS @extschema@.rfm_thresholds
	LANGUAGE plpgsql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	result rfm_thresholds;
	average numeric;
	as_of timestamptz := segment_as_of();
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = refresh_attachment_thresholds.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', refresh_attachment_thresholds.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Thresholds are stored for maintained attachments: maintain_attachment().';
	END IF;
	EXECUTE format('SELECT rfm_thresholds(s.stats, $1, $2),
					   sum(total_amount(s.stats)) / sum(order_count(s.stats))
					FROM %s s', a.state_table)
		INTO result, average USING as_of, a.bins;
	UPDATE attachments t
	SET thresholds = result, population_average_order_value = average, thresholds_as_of = as_of
	WHERE t.attachment_name = a.attachment_name;
	RETURN result;
END
$function$;
COMMENT ON FUNCTION @extschema@.refresh_attachment_thresholds(text) IS
	'computes the score thresholds of a maintained attachment from its state, at segment_as_of(), and stores them: every customer is scored against them from then on';
