# The torture test runs three ways: the concurrent collector with default
# pacing (plain ctest entry "torture"); with a collection every 1000
# allocations, every mark verified by a stop-the-world re-mark and freed
# memory clobbered; and the same stress on the world-stopped collector.
if(TARGET test_torture)
  add_test(NAME torture_gcstress COMMAND test_torture)
  set_tests_properties(torture_gcstress PROPERTIES
    ENVIRONMENT "TC_DEBUG=gcstress=1000,gccheckmark=1,clobberfree=1" TIMEOUT 300)
  add_test(NAME torture_stoptheworld COMMAND test_torture)
  set_tests_properties(torture_stoptheworld PROPERTIES
    ENVIRONMENT "TC_DEBUG=gcstoptheworld=1,gcstress=1000,gccheckmark=1,clobberfree=1" TIMEOUT 300)
endif()
