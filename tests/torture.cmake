# The torture test runs twice: with the default pacing, and with a collection
# every 1000 allocations, every mark verified by a stop-the-world re-mark,
# and freed memory clobbered.
if(TARGET test_torture)
  add_test(NAME torture_gcstress COMMAND test_torture)
  set_tests_properties(torture_gcstress PROPERTIES
    ENVIRONMENT "TC_DEBUG=gcstress=1000,gccheckmark=1,clobberfree=1" TIMEOUT 300)
endif()
