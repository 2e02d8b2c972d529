
-- models: customer models fitted by maximum likelihood, BG/NBD for purchases
-- and Gamma-Gamma for spend (src/bgnbd.c, src/gamma_gamma.c, src/minimize.c,
-- src/special_functions.c), and their inputs read from rfm_stats
-- (src/purchase_summary.c)

-- the state the fitting aggregates share: every row collected (src/point_set.c)
CREATE FUNCTION segment_internal.point_set_combinefn(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'point_set_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.point_set_serializefn(internal) RETURNS bytea
	AS 'MODULE_PATHNAME', 'point_set_serializefn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.point_set_deserializefn(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'point_set_deserializefn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.point_set_combinefn(internal, internal) IS
	'concatenates the rows collected by two partial states of a model fit';
COMMENT ON FUNCTION segment_internal.point_set_serializefn(internal) IS
	'serializes the rows collected by a model fit';
COMMENT ON FUNCTION segment_internal.point_set_deserializefn(bytea, internal) IS
	'reads serialized rows of a model fit, checking sizes and values';

CREATE TYPE @extschema@.purchase_summary AS (
	frequency double precision,
	recency double precision,
	age double precision,
	mean_value double precision
);
COMMENT ON TYPE @extschema@.purchase_summary IS
	'a customer as the BG/NBD and Gamma-Gamma models see it: repeat purchases, time from the first to the last purchase, time from the first purchase to the end of the observation, mean value per order';

CREATE FUNCTION @extschema@.purchase_summary(stats @extschema@.rfm_stats, as_of timestamptz,
											 unit interval DEFAULT '1 day')
	RETURNS @extschema@.purchase_summary
	AS 'MODULE_PATHNAME', 'purchase_summary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.purchase_summary(@extschema@.rfm_stats, timestamptz, interval) IS
	'frequency (orders after the first), recency and age (in units, a month counted as 30 days) and mean value of all orders, read from rfm_stats at as_of';

-- BG/NBD
CREATE TYPE @extschema@.bgnbd_model AS (
	r double precision,
	alpha double precision,
	a double precision,
	b double precision,
	log_likelihood double precision,
	iterations integer,
	converged boolean,
	customers bigint
);
COMMENT ON TYPE @extschema@.bgnbd_model IS
	'a fitted BG/NBD model: purchase rates Gamma(r, alpha), dropout probabilities Beta(a, b), with the fit''s log-likelihood, iterations, convergence and number of customers';

CREATE FUNCTION segment_internal.bgnbd_fit_transfn(internal, double precision, double precision,
												   double precision) RETURNS internal
	AS 'MODULE_PATHNAME', 'bgnbd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.bgnbd_fit_finalfn(internal) RETURNS @extschema@.bgnbd_model
	AS 'MODULE_PATHNAME', 'bgnbd_fit_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.bgnbd_fit_transfn(internal, double precision, double precision,
													   double precision) IS
	'checks and collects a customer for bgnbd_fit';
COMMENT ON FUNCTION segment_internal.bgnbd_fit_finalfn(internal) IS
	'fits the BG/NBD model to the collected customers';

CREATE AGGREGATE @extschema@.bgnbd_fit(frequency double precision, recency double precision,
									   age double precision) (
	SFUNC = segment_internal.bgnbd_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.bgnbd_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.bgnbd_fit(double precision, double precision, double precision) IS
	'maximum-likelihood fit of the BG/NBD model (Fader, Hardie and Lee 2005) to customers'' repeat purchases, recency and age in one unit of time; rows with a NULL are left out';

CREATE FUNCTION @extschema@.bgnbd_p_alive(model @extschema@.bgnbd_model, frequency double precision,
										  recency double precision, age double precision)
	RETURNS double precision
	AS 'MODULE_PATHNAME', 'bgnbd_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_p_alive(@extschema@.bgnbd_model, double precision, double precision,
											  double precision) IS
	'probability that the customer is still active under the BG/NBD model (1 without repeat purchases)';

CREATE FUNCTION @extschema@.bgnbd_expected_purchases(model @extschema@.bgnbd_model, t double precision,
													 frequency double precision, recency double precision,
													 age double precision)
	RETURNS double precision
	AS 'MODULE_PATHNAME', 'bgnbd_expected_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_expected_purchases(@extschema@.bgnbd_model, double precision,
														 double precision, double precision,
														 double precision) IS
	'purchases the customer is expected to make in the next t (same unit as recency and age) under the BG/NBD model';

-- Gamma-Gamma and lifetime value
CREATE TYPE @extschema@.gamma_gamma_model AS (
	p double precision,
	q double precision,
	v double precision,
	log_likelihood double precision,
	iterations integer,
	converged boolean,
	customers bigint
);
COMMENT ON TYPE @extschema@.gamma_gamma_model IS
	'a fitted Gamma-Gamma spend model: purchase values Gamma(p, nu), nu Gamma(q, v) across customers, with the fit''s log-likelihood, iterations, convergence and number of repeat buyers';

CREATE FUNCTION segment_internal.gamma_gamma_fit_transfn(internal, double precision, double precision)
	RETURNS internal
	AS 'MODULE_PATHNAME', 'gamma_gamma_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.gamma_gamma_fit_finalfn(internal) RETURNS @extschema@.gamma_gamma_model
	AS 'MODULE_PATHNAME', 'gamma_gamma_fit_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.gamma_gamma_fit_transfn(internal, double precision, double precision) IS
	'checks and collects a repeat buyer for gamma_gamma_fit';
COMMENT ON FUNCTION segment_internal.gamma_gamma_fit_finalfn(internal) IS
	'fits the Gamma-Gamma model to the collected repeat buyers';

CREATE AGGREGATE @extschema@.gamma_gamma_fit(frequency double precision, mean_value double precision) (
	SFUNC = segment_internal.gamma_gamma_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.gamma_gamma_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gamma_gamma_fit(double precision, double precision) IS
	'maximum-likelihood fit of the Gamma-Gamma spend model (Fader, Hardie and Lee 2005) over customers with repeat purchases; others and rows with a NULL are left out';

CREATE FUNCTION @extschema@.gamma_gamma_expected_spend(model @extschema@.gamma_gamma_model,
													   frequency double precision,
													   mean_value double precision)
	RETURNS double precision
	AS 'MODULE_PATHNAME', 'gamma_gamma_expected_spend' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gamma_gamma_expected_spend(@extschema@.gamma_gamma_model, double precision,
														   double precision) IS
	'expected value of the customer''s next purchases under the Gamma-Gamma model; the population mean without repeat purchases; NULL where the model has no finite mean';

CREATE FUNCTION @extschema@.customer_lifetime_value(bgnbd @extschema@.bgnbd_model,
													gamma_gamma @extschema@.gamma_gamma_model,
													frequency double precision, recency double precision,
													age double precision, mean_value double precision,
													horizon integer, discount_rate double precision,
													period double precision DEFAULT 30)
	RETURNS double precision
	AS 'MODULE_PATHNAME', 'customer_lifetime_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.customer_lifetime_value(@extschema@.bgnbd_model, @extschema@.gamma_gamma_model,
														double precision, double precision, double precision,
														double precision, integer, double precision,
														double precision) IS
	'expected purchases in each of the next horizon periods (period long, in the unit of recency and age) times the expected spend, discounted by discount_rate per period, as the lifetimes library defines it';
