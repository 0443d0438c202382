/*
 * Tests for src/ec2/sts.c: STS answers read into creds' result, and STS's
 * error document read as an AWS error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gpuctl/creds.h"
#include "gpuctl/ec2.h"
#include "gpuctl/err.h"
#include "gpuctl/sts.h"

#define NS "https://sts.amazonaws.com/doc/2011-06-15/"

static const char assume[] =
    "<AssumeRoleResponse xmlns=\"" NS "\">\n"
    "  <AssumeRoleResult>\n"
    "    <SourceIdentity>x</SourceIdentity>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/demo/s</Arn>\n"
    "      <AssumedRoleId>ARO123EXAMPLE123:s</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
    "</SecretAccessKey>\n"
    "      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764=</SessionToken>\n"
    "      <Expiration>2019-11-09T13:34:41Z</Expiration>\n"
    "    </Credentials>\n"
    "    <PackedPolicySize>6</PackedPolicySize>\n"
    "  </AssumeRoleResult>\n"
    "  <ResponseMetadata><RequestId>c6104cbe</RequestId></ResponseMetadata>\n"
    "</AssumeRoleResponse>\n";

static void test_assume_role_answer(void **state)
{
	struct creds_sts_result r = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	(void)state;
	assert_int_equal(
	    ec2_parse_sts("AssumeRole", assume, strlen(assume), &r, &err), 0);
	assert_string_equal(r.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	assert_string_equal(r.secret_access_key,
			    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
	assert_string_equal(r.session_token,
			    "AQoDYXdzEPT//////////wEXAMPLEtc764=");
	assert_string_equal(r.expiration, "2019-11-09T13:34:41Z");
	assert_string_equal(r.arn, "arn:aws:sts::123456789012:assumed-role/"
				   "demo/s");
	assert_string_equal(r.assumed_role_id, "ARO123EXAMPLE123:s");
	creds_sts_result_release(&r);
	assert_null(r.secret_access_key);
}

static void expect_refused(const char *action, const char *xml)
{
	struct creds_sts_result r = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	assert_int_equal(ec2_parse_sts(action, xml, strlen(xml), &r, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_PARSE);
	assert_null(r.access_key_id);
	assert_null(r.secret_access_key);
	err_clear(&err);
}

static void test_refused_answers(void **state)
{
	(void)state;
	/* another action's answer, another namespace, none */
	expect_refused("AssumeRoleWithWebIdentity", assume);
	expect_refused("AssumeRole",
		       "<AssumeRoleResponse xmlns=\"http://ec2.amazonaws.com/"
		       "doc/2016-11-15/\"><AssumeRoleResult/>"
		       "</AssumeRoleResponse>");
	expect_refused("AssumeRole", "<AssumeRoleResponse><AssumeRoleResult/>"
				     "</AssumeRoleResponse>");
	/* no session token */
	expect_refused("AssumeRole",
		       "<AssumeRoleResponse xmlns=\"" NS "\"><AssumeRoleResult>"
		       "<Credentials><AccessKeyId>ASIAX</AccessKeyId>"
		       "<SecretAccessKey>s</SecretAccessKey><Expiration>"
		       "2019-11-09T13:34:41Z</Expiration></Credentials>"
		       "</AssumeRoleResult></AssumeRoleResponse>");
	/* entities are never expanded */
	expect_refused(
	    "AssumeRole",
	    "<!DOCTYPE x [<!ENTITY k \"ASIAX\">]><AssumeRoleResponse "
	    "xmlns=\"" NS "\"><AssumeRoleResult><Credentials>"
	    "<AccessKeyId>&k;</AccessKeyId></Credentials>"
	    "</AssumeRoleResult></AssumeRoleResponse>");
	expect_refused("AssumeRole", "not xml at all");
}

static void test_web_identity_answer_and_errors(void **state)
{
	static const char wi[] =
	    "<AssumeRoleWithWebIdentityResponse xmlns=\"" NS "\">"
	    "<AssumeRoleWithWebIdentityResult>"
	    "<SubjectFromWebIdentityToken>sub</SubjectFromWebIdentityToken>"
	    "<Credentials><SessionToken>tok</SessionToken>"
	    "<SecretAccessKey>sec</SecretAccessKey>"
	    "<Expiration>2026-01-01T01:00:00Z</Expiration>"
	    "<AccessKeyId>ASIAWEBIDENTITY00001</AccessKeyId></Credentials>"
	    "</AssumeRoleWithWebIdentityResult>"
	    "</AssumeRoleWithWebIdentityResponse>";
	static const char error[] =
	    "<ErrorResponse xmlns=\"" NS "\"><Error><Type>Sender</Type>"
	    "<Code>AccessDenied</Code><Message>User: x is not authorized"
	    "</Message></Error><RequestId>4e9f</RequestId></ErrorResponse>";
	struct creds_sts_result r = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	(void)state;
	/* any order of the fields */
	assert_int_equal(ec2_parse_sts("AssumeRoleWithWebIdentity", wi,
				       strlen(wi), &r, &err),
			 0);
	assert_string_equal(r.access_key_id, "ASIAWEBIDENTITY00001");
	assert_string_equal(r.secret_access_key, "sec");
	assert_string_equal(r.session_token, "tok");
	assert_null(r.arn);
	creds_sts_result_release(&r);
	assert_int_equal(ec2_parse_error(error, strlen(error), 403, &err), 0);
	assert_int_equal(err.kind, GPUCTL_ERR_AWS);
	assert_string_equal(err.code, "AccessDenied");
	assert_string_equal(err.request_id, "4e9f");
	err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_assume_role_answer),
	    cmocka_unit_test(test_refused_answers),
	    cmocka_unit_test(test_web_identity_answer_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
