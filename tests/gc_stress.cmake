# The adversarial collector scenarios run twice: as they are, and with a
# collection every 100 allocations, every mark verified by a stop-the-world
# re-mark, and freed memory clobbered.
if(TARGET test_gc_stress)
  add_test(NAME gc_stress_checkmark COMMAND test_gc_stress)
  set_tests_properties(gc_stress_checkmark PROPERTIES
    ENVIRONMENT "TC_DEBUG=gcstress=100,gccheckmark=1,clobberfree=1" TIMEOUT 300)
endif()
