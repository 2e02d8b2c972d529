
-- segment_set (src/segment_set.c, src/segment_set_gin.c)
