
-- kmeans: k-means clustering of customers' features (src/kmeans.c)

CREATE TYPE @extschema@.kmeans_model AS (
	centroids double precision[],
	sizes integer[],
	within_ss double precision,
	iterations integer,
	silhouette double precision,
	scales double precision[],
	restarts integer
);
COMMENT ON TYPE @extschema@.kmeans_model IS
	'a fitted k-means clustering: centroids (k x features, in the features'' units), rows per cluster, total within-cluster sum of squares and simplified silhouette (in the scaled units), Lloyd iterations of the best restart, the scales features are divided by (1 unless standardized), restarts';

CREATE FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer)
	RETURNS internal
	AS 'MODULE_PATHNAME', 'kmeans_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint)
	RETURNS internal
	AS 'MODULE_PATHNAME', 'kmeans_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint, boolean)
	RETURNS internal
	AS 'MODULE_PATHNAME', 'kmeans_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint, boolean,
													integer)
	RETURNS internal
	AS 'MODULE_PATHNAME', 'kmeans_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.kmeans_fit_finalfn(internal) RETURNS @extschema@.kmeans_model
	AS 'MODULE_PATHNAME', 'kmeans_fit_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer) IS
	'checks and collects a row of features for kmeans_fit';
COMMENT ON FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint) IS
	'checks and collects a row of features for kmeans_fit';
COMMENT ON FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint, boolean) IS
	'checks and collects a row of features for kmeans_fit';
COMMENT ON FUNCTION segment_internal.kmeans_fit_transfn(internal, double precision[], integer, bigint, boolean,
														integer) IS
	'checks and collects a row of features for kmeans_fit';
COMMENT ON FUNCTION segment_internal.kmeans_fit_finalfn(internal) IS
	'clusters the collected rows: k-means++ seeding and Lloyd iterations, the best of the restarts';

CREATE AGGREGATE @extschema@.kmeans_fit(features double precision[], k integer) (
	SFUNC = segment_internal.kmeans_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.kmeans_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.kmeans_fit(features double precision[], k integer, seed bigint) (
	SFUNC = segment_internal.kmeans_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.kmeans_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.kmeans_fit(features double precision[], k integer, seed bigint,
										standardize boolean) (
	SFUNC = segment_internal.kmeans_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.kmeans_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.kmeans_fit(features double precision[], k integer, seed bigint,
										standardize boolean, restarts integer) (
	SFUNC = segment_internal.kmeans_fit_transfn, STYPE = internal,
	FINALFUNC = segment_internal.kmeans_fit_finalfn,
	COMBINEFUNC = segment_internal.point_set_combinefn,
	SERIALFUNC = segment_internal.point_set_serializefn,
	DESERIALFUNC = segment_internal.point_set_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kmeans_fit(double precision[], integer) IS
	'k-means clustering of the rows'' features into k clusters, seed 0, unscaled, 10 restarts; rows with NULL features are left out';
COMMENT ON AGGREGATE @extschema@.kmeans_fit(double precision[], integer, bigint) IS
	'k-means clustering of the rows'' features into k clusters, deterministic for the seed, unscaled, 10 restarts';
COMMENT ON AGGREGATE @extschema@.kmeans_fit(double precision[], integer, bigint, boolean) IS
	'k-means clustering of the rows'' features into k clusters, deterministic for the seed, features standardized to mean 0 and standard deviation 1 when asked, 10 restarts';
COMMENT ON AGGREGATE @extschema@.kmeans_fit(double precision[], integer, bigint, boolean, integer) IS
	'k-means clustering of the rows'' features into k clusters, deterministic for the seed, features standardized when asked, keeping the best of restarts k-means++ seedings';

CREATE FUNCTION @extschema@.kmeans_nearest(model @extschema@.kmeans_model, features double precision[])
	RETURNS integer
	AS 'MODULE_PATHNAME', 'kmeans_nearest' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_nearest(@extschema@.kmeans_model, double precision[]) IS
	'the cluster (1 to k) whose centroid is nearest to the features, distances divided by the model''s scales; NULL when a feature is NULL';
