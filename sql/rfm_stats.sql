
-- rfm_stats: a customer's purchase behaviour (src/rfm_stats.c, src/rfm_stats_agg.c)

CREATE TYPE @extschema@.rfm_stats;

CREATE FUNCTION segment_internal.rfm_stats_in(cstring) RETURNS @extschema@.rfm_stats
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_stats_out(@extschema@.rfm_stats) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_stats_recv(internal) RETURNS @extschema@.rfm_stats
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_stats_send(@extschema@.rfm_stats) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.rfm_stats (
	INPUT = segment_internal.rfm_stats_in,
	OUTPUT = segment_internal.rfm_stats_out,
	RECEIVE = segment_internal.rfm_stats_recv,
	SEND = segment_internal.rfm_stats_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double
);
COMMENT ON TYPE @extschema@.rfm_stats IS
	'a customer''s orders: count, first, second latest and latest order time, exact total amount';
COMMENT ON FUNCTION segment_internal.rfm_stats_in(cstring) IS 'text input of rfm_stats';
COMMENT ON FUNCTION segment_internal.rfm_stats_out(@extschema@.rfm_stats) IS 'text output of rfm_stats, times in UTC';
COMMENT ON FUNCTION segment_internal.rfm_stats_recv(internal) IS 'binary input of rfm_stats';
COMMENT ON FUNCTION segment_internal.rfm_stats_send(@extschema@.rfm_stats) IS 'binary output of rfm_stats';

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
CREATE FUNCTION segment_internal.rfm_stats_transfn(internal, timestamptz, numeric) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_stats_merge_transfn(internal, @extschema@.rfm_stats) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_stats_combinefn(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_stats_serializefn(internal) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_stats_deserializefn(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_stats_finalfn(internal) RETURNS @extschema@.rfm_stats
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.rfm_stats_transfn(internal, timestamptz, numeric) IS 'rfm_stats aggregate: adds an order';
COMMENT ON FUNCTION segment_internal.rfm_stats_merge_transfn(internal, @extschema@.rfm_stats) IS 'rfm_stats_merge aggregate: adds stored statistics';
COMMENT ON FUNCTION segment_internal.rfm_stats_combinefn(internal, internal) IS 'rfm_stats aggregates: combines partial states';
COMMENT ON FUNCTION segment_internal.rfm_stats_serializefn(internal) IS 'rfm_stats aggregates: serializes a partial state';
COMMENT ON FUNCTION segment_internal.rfm_stats_deserializefn(bytea, internal) IS 'rfm_stats aggregates: reads a serialized partial state';
COMMENT ON FUNCTION segment_internal.rfm_stats_finalfn(internal) IS 'rfm_stats aggregates: the rfm_stats value of a state';

CREATE AGGREGATE @extschema@.rfm_stats(order_time timestamptz, amount numeric) (
	SFUNC = segment_internal.rfm_stats_transfn,
	STYPE = internal,
	SSPACE = 96,
	FINALFUNC = segment_internal.rfm_stats_finalfn,
	COMBINEFUNC = segment_internal.rfm_stats_combinefn,
	SERIALFUNC = segment_internal.rfm_stats_serializefn,
	DESERIALFUNC = segment_internal.rfm_stats_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_stats(timestamptz, numeric) IS
	'a customer''s rfm_stats from its orders; rows with a NULL time are skipped, NULL amounts add nothing';

CREATE AGGREGATE @extschema@.rfm_stats_merge(stats @extschema@.rfm_stats) (
	SFUNC = segment_internal.rfm_stats_merge_transfn,
	STYPE = internal,
	SSPACE = 96,
	FINALFUNC = segment_internal.rfm_stats_finalfn,
	COMBINEFUNC = segment_internal.rfm_stats_combinefn,
	SERIALFUNC = segment_internal.rfm_stats_serializefn,
	DESERIALFUNC = segment_internal.rfm_stats_deserializefn,
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
