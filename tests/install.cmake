# The install rules, proved from the outside: tests/install/check_install.sh
# installs this build into a temporary prefix, checks that the shared library
# exports only tc_* names, and builds and runs a small consumer against the
# prefix with find_package(tricolor) and with pkg-config.
add_test(NAME install
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/check_install.sh
          ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/install/consumer)
set_tests_properties(install PROPERTIES TIMEOUT 300
  ENVIRONMENT "CC=${CMAKE_C_COMPILER};TC_SANITIZE=${TC_SANITIZE}")
