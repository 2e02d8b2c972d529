
-- rfm_thresholds: a population's score thresholds (src/rfm_thresholds.c, src/rfm_thresholds_agg.c)

CREATE TYPE @extschema@.rfm_thresholds;

CREATE FUNCTION segment_internal.rfm_thresholds_in(cstring) RETURNS @extschema@.rfm_thresholds
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_out(@extschema@.rfm_thresholds) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_recv(internal) RETURNS @extschema@.rfm_thresholds
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_send(@extschema@.rfm_thresholds) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.rfm_thresholds (
	INPUT = segment_internal.rfm_thresholds_in,
	OUTPUT = segment_internal.rfm_thresholds_out,
	RECEIVE = segment_internal.rfm_thresholds_recv,
	SEND = segment_internal.rfm_thresholds_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double
);
COMMENT ON TYPE @extschema@.rfm_thresholds IS
	'score thresholds of recency (days), frequency (orders) and monetary (amount), as JSON text';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_in(cstring) IS 'text input of rfm_thresholds';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_out(@extschema@.rfm_thresholds) IS 'text output of rfm_thresholds';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_recv(internal) IS 'binary input of rfm_thresholds';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_send(@extschema@.rfm_thresholds) IS 'binary output of rfm_thresholds';

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
CREATE FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer, integer, integer)
	RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_combinefn(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_serializefn(internal) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_deserializefn(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_finalfn(internal) RETURNS @extschema@.rfm_thresholds
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz) IS
	'rfm_thresholds aggregate: adds a customer';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer) IS
	'rfm_thresholds aggregate: adds a customer';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer, integer, integer) IS
	'rfm_thresholds aggregate: adds a customer';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_combinefn(internal, internal) IS 'rfm_thresholds aggregate: combines partial states';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_serializefn(internal) IS 'rfm_thresholds aggregate: serializes a partial state';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_deserializefn(bytea, internal) IS 'rfm_thresholds aggregate: reads a serialized partial state';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_finalfn(internal) IS 'rfm_thresholds aggregate: percentile thresholds of the population';

CREATE AGGREGATE @extschema@.rfm_thresholds(stats @extschema@.rfm_stats, as_of timestamptz) (
	SFUNC = segment_internal.rfm_thresholds_transfn, STYPE = internal,
	FINALFUNC = segment_internal.rfm_thresholds_finalfn,
	COMBINEFUNC = segment_internal.rfm_thresholds_combinefn,
	SERIALFUNC = segment_internal.rfm_thresholds_serializefn,
	DESERIALFUNC = segment_internal.rfm_thresholds_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_thresholds(stats @extschema@.rfm_stats, as_of timestamptz, bins integer) (
	SFUNC = segment_internal.rfm_thresholds_transfn, STYPE = internal,
	FINALFUNC = segment_internal.rfm_thresholds_finalfn,
	COMBINEFUNC = segment_internal.rfm_thresholds_combinefn,
	SERIALFUNC = segment_internal.rfm_thresholds_serializefn,
	DESERIALFUNC = segment_internal.rfm_thresholds_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_thresholds(stats @extschema@.rfm_stats, as_of timestamptz, recency_bins integer,
											frequency_bins integer, monetary_bins integer) (
	SFUNC = segment_internal.rfm_thresholds_transfn, STYPE = internal,
	FINALFUNC = segment_internal.rfm_thresholds_finalfn,
	COMBINEFUNC = segment_internal.rfm_thresholds_combinefn,
	SERIALFUNC = segment_internal.rfm_thresholds_serializefn,
	DESERIALFUNC = segment_internal.rfm_thresholds_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_thresholds(@extschema@.rfm_stats, timestamptz) IS
	'percentile thresholds of a population of customers, 5 bins per dimension';
COMMENT ON AGGREGATE @extschema@.rfm_thresholds(@extschema@.rfm_stats, timestamptz, integer) IS
	'percentile thresholds of a population of customers, the given number of bins (1 to 9) per dimension';
COMMENT ON AGGREGATE @extschema@.rfm_thresholds(@extschema@.rfm_stats, timestamptz, integer, integer, integer) IS
	'percentile thresholds of a population of customers, bins (1 to 9) given per dimension';
